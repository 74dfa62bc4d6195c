// Dropping an app's layer, or parts of it: `sandbox reset APP [PATH...]`. Afterwards the app
// sees the real home again at those paths. Nothing is followed: the layer is taken apart
// from fds opened without following symlinks or crossing mounts.
#pragma once

#include <string>
#include <vector>

#include "overlay/layer.h"

namespace sandbox::overlay {

struct ResetReport {
  std::vector<std::string> dropped;  // home-relative paths removed from the layer
  std::vector<std::string> notes;    // selected paths that had nothing of their own to drop, and why
};

// With `only` empty, empties the layer's upper and work directories (overlayfs leaves a mode
// 0000 work/work; it is made removable first). Otherwise removes the layer's entries at those
// home-relative paths (files, directories with everything below, whiteouts). `dry_run`
// changes nothing and reports what would go. Throws LayerError.
ResetReport reset_layer(const LayerPaths& layer, const std::vector<std::string>& only,
                        bool dry_run = false);

// Removes `name` below `parent_fd` and everything under it, following no symlink and opening
// up directories made unreadable or read-only first (overlayfs's mode 0000 work/work).
// `path` names it in errors. Throws LayerError.
void remove_tree(int parent_fd, const std::string& name, const std::string& path);

}  // namespace sandbox::overlay
