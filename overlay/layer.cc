#include "overlay/layer.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"

namespace sandbox::overlay {

namespace {

using Fd = sandbox::UniqueFd;

int open_dir_nofollow(int dirfd, const std::string& name) {
  open_how how{};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(syscall(SYS_openat2, dirfd, name.c_str(), &how, sizeof(how)));
}

void check_owned_dir(int fd, const std::string& path, uid_t uid) {
  struct stat st;
  if (fstat(fd, &st) != 0) throw LayerError(path, errno, "cannot stat layer directory");
  if (!S_ISDIR(st.st_mode)) throw LayerError(path, ENOTDIR, "layer path is not a directory");
  if (st.st_uid != uid)
    throw LayerError(path, EPERM,
                     "layer directory is owned by uid " + std::to_string(st.st_uid) +
                         ", not by you (uid " + std::to_string(uid) + "); refusing to use it");
}

}  // namespace

LayerError::LayerError(std::string path, int err, const std::string& what)
    : std::runtime_error(what), path_(std::move(path)), err_(err) {}

bool valid_app_name(const std::string& app) {
  if (app.empty() || app.size() > 128 || app[0] == '.') return false;
  for (char c : app) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

LayerPaths layer_paths(const std::string& state_dir, const std::string& app) {
  LayerPaths p;
  p.root = state_dir + "/" + app;
  p.upper = p.root + "/upper";
  p.work = p.root + "/work";
  return p;
}

void ensure_layer(const LayerPaths& paths, uid_t uid) {
  if (paths.root.empty() || paths.root[0] != '/')
    throw LayerError(paths.root, EINVAL, "layer path must be absolute");
  // Walk from "/" one component at a time: an existing component is opened without following
  // symlinks, a missing one is created 0700. The home above the state dir is usually not
  // ours to check, so ownership is checked only for STATE, STATE/APP and the layer dirs.
  Fd dir(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::string so_far;
  const std::string state_dir = paths.root.substr(0, paths.root.rfind('/'));
  auto walk = [&](const std::string& target) {
    size_t pos = so_far.size() + 1;
    while (pos <= target.size()) {
      size_t next = target.find('/', pos);
      if (next == std::string::npos) next = target.size();
      const std::string name = target.substr(pos, next - pos);
      pos = next + 1;
      if (name.empty()) continue;
      so_far += "/" + name;
      int fd = open_dir_nofollow(dir.get(), name);
      if (fd < 0 && errno == ENOENT) {
        if (mkdirat(dir.get(), name.c_str(), 0700) != 0 && errno != EEXIST)
          throw LayerError(so_far, errno, "cannot create layer directory");
        fd = open_dir_nofollow(dir.get(), name);
      }
      if (fd < 0) {
        const int err = errno;
        throw LayerError(so_far, err,
                         err == ELOOP ? "a symlink stands where a layer directory must be; "
                                        "remove it"
                                      : "cannot open layer directory");
      }
      dir = Fd(fd);
    }
  };
  walk(state_dir);
  check_owned_dir(dir.get(), state_dir, uid);
  walk(paths.root);
  check_owned_dir(dir.get(), paths.root, uid);
  Fd root(dup(dir.get()));
  for (const std::string* sub : {&paths.upper, &paths.work}) {
    const std::string name = sub->substr(sub->rfind('/') + 1);
    if (mkdirat(root.get(), name.c_str(), 0700) != 0 && errno != EEXIST)
      throw LayerError(*sub, errno, "cannot create layer directory");
    Fd fd(open_dir_nofollow(root.get(), name));
    if (fd.get() < 0) throw LayerError(*sub, errno, "cannot open layer directory");
    check_owned_dir(fd.get(), *sub, uid);
  }
}

}  // namespace sandbox::overlay
