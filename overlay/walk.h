// The walk behind diff and commit: the layer's upper tree beside the real home, as a tree of
// nodes (the changes, plus the directories that only lead to changes). Internal to overlay/.
//
// Every directory is opened below its parent's fd with openat2 RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV, entries are looked at with statx/readlinkat relative
// to those fds, so neither a symlink in the layer nor one in the real home can lead the walk
// anywhere else, whatever is renamed meanwhile.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "overlay/changes.h"
#include "overlay/mode_journal.h"
#include "overlay/tree_io.h"

namespace sandbox::overlay {

// Commit writes each file to a temp file of this name (plus 6 random characters) in the
// target's directory, then renames it. One left by a killed commit is not a change: the walk
// skips it where it would otherwise list it (a replaced directory), and the next commit into
// that directory removes it.
inline constexpr char kCommitTempPrefix[] = ".sandbox-commit.";
inline constexpr std::size_t kCommitTempRandom = 6;
inline bool is_commit_temp_name(const std::string& name) {
  return name.size() == sizeof(kCommitTempPrefix) - 1 + kCommitTempRandom &&
         name.compare(0, sizeof(kCommitTempPrefix) - 1, kCommitTempPrefix) == 0;
}

// Besides the kernel's format (changes.h), layers written by fuse-overlayfs (the launcher's
// fallback) are read: it marks opaque directories with user.fuseoverlayfs.opaque = "y" (or
// trusted.overlay.opaque, as root) plus a marker file .wh..wh..opq inside, which is not an
// entry; its whiteouts are character devices 0:0 like the kernel's. (Its `.wh.NAME` whiteout
// files, used only where mknod fails, are not taken as whiteouts: with the kernel driver an app
// could name a file so and have commit delete NAME.)
inline constexpr const char* kFuseOpaqueMarker = ".wh..wh..opq";

struct Node {
  std::string name;  // "" for the home itself
  Change change;     // change.path is the node's path, also for directories without a change
  bool has_change = false;  // false: a directory that is the same in both (it leads to changes)
  bool selected = false;    // inside the `only` selection
  fsio::EntryStat upper;    // upper.exists is false for implicit deletions
  fsio::EntryStat lower;
  bool whiteout = false;
  bool opaque = false;       // this upper directory is opaque (see opaque_xattr)
  std::string opaque_xattr;  // which xattr says so: user.overlay.opaque, or fuse-overlayfs's
  bool opaque_marker = false;  // fuse-overlayfs's marker file .wh..wh..opq is in it
  bool hides_lower = false;  // the real directory's entries do not show through (opaque here or above)
  std::vector<Node> children;  // sorted by name
  bool applied = false;        // commit: the real home has this entry
  bool apply_below = false;    // commit: something below this directory is to be applied
};

// An opened and checked layer, and the real home.
struct OpenedLayer {
  std::string root_path, upper_path, home_path;
  fsio::UniqueFd root, upper, home;
  ModeJournal journal;
  std::string state_rel;  // sandbox's state dir (the layer root's parent) relative to the home
};

// Opens the layer root (the parent of `upper_dir`), its upper dir and the home without
// following symlinks, and checks that the layer dirs are directories owned by `uid`.
// Throws LayerError with a message that says what is wrong with the layer.
OpenedLayer open_layer(const std::string& upper_dir, const std::string& home, uid_t uid);

// Walks the layer against the home. `only` holds normalized paths (empty: everything).
Node walk_layer(const OpenedLayer& layer, const std::vector<std::string>& only);

}  // namespace sandbox::overlay
