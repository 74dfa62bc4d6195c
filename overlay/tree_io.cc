#include "overlay/tree_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "overlay/layer.h"

namespace sandbox::overlay::fsio {

bool after(const timespec& a, const timespec& b) {
  return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec;
}

namespace {

char type_of(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return 'f';
    case S_IFDIR: return 'd';
    case S_IFLNK: return 'l';
    case S_IFCHR: return 'c';
    case S_IFBLK: return 'b';
    case S_IFIFO: return 'p';
    case S_IFSOCK: return 's';
    default: return '?';
  }
}

timespec to_timespec(const statx_timestamp& t) {
  timespec ts;
  ts.tv_sec = t.tv_sec;
  ts.tv_nsec = t.tv_nsec;
  return ts;
}

EntryStat from_statx(const struct statx& sx) {
  EntryStat st;
  st.exists = true;
  st.type = type_of(sx.stx_mode);
  st.perm = sx.stx_mode & 07777;
  st.size = sx.stx_size;
  st.ino = sx.stx_ino;
  st.nlink = sx.stx_nlink;
  st.uid = sx.stx_uid;
  st.rdev_major = sx.stx_rdev_major;
  st.rdev_minor = sx.stx_rdev_minor;
  st.mtime = to_timespec(sx.stx_mtime);
  st.ctime = to_timespec(sx.stx_ctime);
  st.has_btime = (sx.stx_mask & STATX_BTIME) != 0;
  if (st.has_btime) st.btime = to_timespec(sx.stx_btime);
  st.mount_root = (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
                  (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
  return st;
}

constexpr unsigned kStatxMask = STATX_BASIC_STATS | STATX_BTIME;

}  // namespace

EntryStat stat_at(int dirfd, const std::string& name, const std::string& path) {
  struct statx sx;
  if (statx(dirfd, name.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, kStatxMask, &sx) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return EntryStat{};
    throw LayerError(path, errno, "cannot stat");
  }
  return from_statx(sx);
}

EntryStat stat_fd(int fd, const std::string& path) {
  struct statx sx;
  if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, kStatxMask, &sx) != 0)
    throw LayerError(path, errno, "cannot stat");
  return from_statx(sx);
}

int open_beneath(int dirfd, const std::string& name, int flags, mode_t mode) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
  if (flags & O_CREAT) how.mode = mode;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  for (;;) {
    const long fd = syscall(SYS_openat2, dirfd, name.c_str(), &how, sizeof(how));
    if (fd >= 0 || errno != EAGAIN) return static_cast<int>(fd);
    // EAGAIN: a rename raced the lookup (openat2(2)); trying again is what the man page asks.
  }
}

int open_dir_beneath(int dirfd, const std::string& name) {
  return open_beneath(dirfd, name, O_RDONLY | O_DIRECTORY);
}

UniqueFd open_dir_path(const std::string& path, const std::string& what) {
  if (path.empty() || path[0] != '/') throw LayerError(path, EINVAL, what + " must be an absolute path");
  open_how how{};
  how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  const long fd = syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof(how));
  if (fd < 0) {
    const int err = errno;
    if (err == ELOOP)
      throw LayerError(path, err, "a symlink is on the way to " + what + "; refusing to follow it");
    throw LayerError(path, err, "cannot open " + what);
  }
  return UniqueFd(static_cast<int>(fd));
}

std::vector<std::string> list_dir(int dirfd, const std::string& path) {
  // A fresh open description of the same directory: fdopendir() takes it over, and the
  // caller's fd keeps its own offset.
  const int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw LayerError(path, errno, "cannot read directory");
  DIR* d = fdopendir(fd);
  if (!d) {
    const int err = errno;
    close(fd);
    throw LayerError(path, err, "cannot read directory");
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
      names.emplace_back(e->d_name);
    errno = 0;
  }
  const int err = errno;
  closedir(d);
  if (err != 0) throw LayerError(path, err, "cannot read directory");
  std::sort(names.begin(), names.end());  // std::string compares as unsigned bytes
  return names;
}

std::string read_link(int dirfd, const std::string& name, const std::string& path) {
  std::string buf(256, '\0');
  for (;;) {
    const ssize_t n = readlinkat(dirfd, name.c_str(), buf.data(), buf.size());
    if (n < 0) throw LayerError(path, errno, "cannot read symlink");
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    buf.resize(buf.size() * 2);
  }
}

namespace {

std::optional<std::string> xattr_result(ssize_t n, std::string& buf, const std::string& path,
                                        const char* attr) {
  if (n >= 0) {
    buf.resize(static_cast<size_t>(n));
    return buf;
  }
  if (errno == ENODATA || errno == ENOTSUP || errno == EPERM) return std::nullopt;
  throw LayerError(path, errno, std::string("cannot read xattr ") + attr);
}

}  // namespace

std::optional<std::string> get_xattr_at(int dirfd, const std::string& name, const char* attr,
                                        const std::string& path) {
  // lgetxattr on the magic link of the directory fd plus one name: the directory is the one
  // we opened, and the last component is not followed. (getxattrat(2) needs Linux 6.13.)
  const std::string via = "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
  std::string buf(256, '\0');
  ssize_t n = lgetxattr(via.c_str(), attr, buf.data(), buf.size());
  if (n < 0 && errno == ERANGE) {
    n = lgetxattr(via.c_str(), attr, nullptr, 0);
    if (n >= 0) {
      buf.resize(static_cast<size_t>(n));
      n = lgetxattr(via.c_str(), attr, buf.data(), buf.size());
    }
  }
  return xattr_result(n, buf, path, attr);
}

std::optional<std::string> get_xattr_fd(int fd, const char* attr, const std::string& path) {
  std::string buf(256, '\0');
  ssize_t n = fgetxattr(fd, attr, buf.data(), buf.size());
  if (n < 0 && errno == ERANGE) {
    n = fgetxattr(fd, attr, nullptr, 0);
    if (n >= 0) {
      buf.resize(static_cast<size_t>(n));
      n = fgetxattr(fd, attr, buf.data(), buf.size());
    }
  }
  return xattr_result(n, buf, path, attr);
}

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

std::string base_name(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string dir_name(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

}  // namespace sandbox::overlay::fsio
