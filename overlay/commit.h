// Applying an app's layer to the real home: `sandbox commit APP [PATH...]`.
//
// What lands: regular files (each written to a temp file `.sandbox-commit.XXXXXX` in the
// target's directory, then renamed over the target), directories (mode and mtime set after
// their entries), symlinks (created as symlinks, never followed), fifos, modes and mtimes,
// deletions (whiteouts: the real entry or subtree goes, symlinks in it are removed, not
// followed) and replaced directories (real entries the layer does not have go). Hard links
// inside the layer land as separate copies. Device nodes and sockets never land.
//
// What is refused: with any conflict (see changes.h) nothing is applied unless `force`.
// Entries below a real path that is not a directory any more (a symlink, say), below a mount
// point, or inside sandbox's own state directory are never applied, not even with `force`:
// they stay in the layer and are reported.
//
// Every path is reached from fds of the home and of the layer opened without following
// symlinks or crossing mounts (walk.h); a symlink met on the way is an error, never a detour.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "overlay/changes.h"
#include "overlay/layer.h"

namespace sandbox::overlay {

struct CommitOptions {
  std::vector<std::string> only;  // home-relative paths; empty = everything
  bool force = false;             // apply conflicts too (the layer's version wins)
  bool dry_run = false;           // change nothing; report what would happen
};

struct CommitReport {
  std::vector<Change> applied;            // written to the real home (dry run: would be)
  std::vector<Change> skipped_conflicts;  // conflicts not applied (all of them when refused)
  std::vector<Change> refused;            // never applied; they stay in the layer
  std::vector<Change> unchanged;          // equal to the real home: dropped from the layer
  bool refused_for_conflicts = false;     // nothing was done because of conflicts
  size_t mutations = 0;                   // filesystem changes made, in either tree
};

// Applies the layer's changes (or those under `options.only`) to `home` and removes what was
// applied from the layer. Throws LayerError naming the path when something cannot be done;
// both trees are then consistent and running it again finishes the job.
//
// Fault injection for tests: with SANDBOX_FAULT_COMMIT=N in the environment, the process
// kills itself with SIGKILL right before its N-th filesystem change.
CommitReport commit_layer(const LayerPaths& layer, const std::string& home, uid_t uid,
                          const CommitOptions& options);

}  // namespace sandbox::overlay
