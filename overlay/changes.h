// What an app's layer changes in the real home: the upper directory of the overlay (written
// under the `userxattr` mount option) compared with the real home, entry by entry.
//
// The layer format (overlayfs(5), "Whiteouts and opaque directories", with userxattr):
//   * a deleted real entry is a whiteout in upper: a character device 0:0;
//   * a directory that replaced a real one (deleted and recreated) carries the xattr
//     user.overlay.opaque = "y": nothing of the real directory shows through it;
//   * an upper directory without it merges with the real directory of the same name;
//   * user.overlay.redirect (renamed directories) and metacopy cannot occur with userxattr:
//     a layer that has them is refused rather than misread.
//
// Conflicts: a real entry that changed after the app made its own version. The upper entry's
// birth time (statx STATX_BTIME) is when it was copied up or created; a real entry whose
// ctime is later changed on the host after that. Where the layer's filesystem has no birth
// time, the upper entry's ctime stands in: it is at least the copy-up time (its mtime is
// not: copy-up keeps the real file's mtime, which would flag every older chmod).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sandbox::overlay {

enum class TimeBasis { kBirthTime, kChangeTime };

struct Change {
  enum Kind {
    kAdded,        // nothing in the real home there
    kModified,     // same type, other content (files: bytes; symlinks: target)
    kDeleted,      // a whiteout (or, with `implicit`, hidden by a replaced directory)
    kTypeChanged,  // e.g. a file where the real home has a directory
    kMetadata,     // mode or mtime only, same content
    kOpaque,       // a directory that replaced the real one: its real contents are dropped
    kUnchanged,    // in the layer, but equal to the real home (dropped by commit, not written)
  };

  std::string path;  // relative to the home, raw bytes
  Kind kind = kUnchanged;
  char upper_type = '-';  // 'f','d','l','c','b','p','s'; '-' for none (deletions)
  char lower_type = '-';
  mode_t upper_mode = 0, lower_mode = 0;  // permission bits (07777)
  uint64_t upper_size = 0, lower_size = 0;  // a deleted real directory: bytes of its files
  uint64_t lower_entries = 0;  // a deleted real directory: entries below it
  std::string link_target;        // the layer's symlink
  std::string lower_link_target;  // the real symlink
  bool mode_changed = false;
  bool mtime_changed = false;
  bool unchanged_content = false;  // same bytes as the real file (kMetadata, kUnchanged)
  bool implicit = false;           // kDeleted because an ancestor replaced the real directory
  bool conflict = false;           // the real entry changed after the app's version was made
  bool refused = false;            // never committed, not even with --force
  std::string conflict_reason;     // why (conflict or refused)
  TimeBasis time_basis = TimeBasis::kBirthTime;

  bool is_dir() const { return upper_type == 'd' || (upper_type == '-' && lower_type == 'd'); }
};

// The changes of the layer whose upper directory is `upper_dir` against the real home, sorted
// by path (byte order). `only` narrows it to these home-relative paths (see
// normalize_relative_path); a directory selects its subtree; empty selects everything.
// Entries of kind kUnchanged are included (formatters hide them). Throws LayerError naming
// the path for a layer that is not a valid overlay layer or an entry that cannot be read.
std::vector<Change> diff_layer(const std::string& upper_dir, const std::string& home,
                               const std::vector<std::string>& only);

// "a//b/./c/" -> "a/b/c"; "" and "." -> "" (the whole home). Throws LayerError for ".."
// components and absolute paths: a selection never leaves the home.
std::string normalize_relative_path(const std::string& path);

// Whether `path` is `sel` or below it ("" selects everything).
bool path_selected(const std::string& path, const std::vector<std::string>& only);

const char* kind_name(Change::Kind kind);  // "added", "modified", ...
const char* type_name(char type);          // "file", "dir", "symlink", ...; "none" for '-'

}  // namespace sandbox::overlay
