// The persistent copy-on-write layer of an app: $XDG_DATA_HOME/sandbox/APP/{upper,work}.
// layer_paths() is pure; ensure_layer() creates the directories without following symlinks.
#pragma once

#include <sys/types.h>

#include <stdexcept>
#include <string>

namespace sandbox::overlay {

struct LayerPaths {
  std::string root;   // STATE/APP
  std::string upper;  // STATE/APP/upper: what the app changed, in overlayfs's format
  std::string work;   // STATE/APP/work: overlayfs's scratch dir, same filesystem as upper
};

// App names name directories: [A-Za-z0-9._-]+, not starting with '.', at most 128 bytes.
bool valid_app_name(const std::string& app);

LayerPaths layer_paths(const std::string& state_dir, const std::string& app);

class LayerError : public std::runtime_error {
 public:
  LayerError(std::string path, int err, const std::string& what);
  const std::string& path() const { return path_; }
  int err() const { return err_; }

 private:
  std::string path_;
  int err_;
};

// Creates every missing directory of `paths` (and of the state dir above it) with mode 0700,
// refusing any symlink on the way, and checks that the state dir, the app dir and the layer
// dirs are directories owned by `uid`. Throws LayerError.
void ensure_layer(const LayerPaths& paths, uid_t uid);

}  // namespace sandbox::overlay
