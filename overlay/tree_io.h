// Filesystem primitives shared by diff, commit and reset: fds that close themselves, opening
// one name at a time below a directory fd without following symlinks or crossing mounts
// (openat2(2) RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV), statx(2) with the
// birth time, sorted directory listings, xattrs of entries that cannot be opened. Internal to
// overlay/: the names differ from layer.cc's file-local helpers on purpose.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace sandbox::overlay::fsio {

using UniqueFd = sandbox::UniqueFd;

struct EntryStat {
  bool exists = false;
  char type = '-';  // 'f' file, 'd' dir, 'l' symlink, 'c' char dev, 'b' block dev, 'p' fifo, 's' socket
  mode_t perm = 0;  // st_mode & 07777
  uint64_t size = 0;
  uint64_t ino = 0;
  uint32_t nlink = 0;
  uid_t uid = 0;
  uint32_t rdev_major = 0, rdev_minor = 0;
  timespec mtime{}, ctime{}, btime{};
  bool has_btime = false;
  bool mount_root = false;  // STATX_ATTR_MOUNT_ROOT: something is mounted here

  // overlayfs's whiteout: a character device 0:0.
  bool is_whiteout() const { return type == 'c' && rdev_major == 0 && rdev_minor == 0; }
};

bool after(const timespec& a, const timespec& b);  // a later than b

// statx(dirfd, name, AT_SYMLINK_NOFOLLOW) with the birth time when the filesystem has one.
// ENOENT and ENOTDIR give exists == false; other errors throw LayerError naming `path`.
EntryStat stat_at(int dirfd, const std::string& name, const std::string& path);
EntryStat stat_fd(int fd, const std::string& path);

// openat2(dirfd, name) beneath dirfd, never through a symlink or a mount point; O_CLOEXEC and
// O_NOFOLLOW are added; `mode` is used with O_CREAT. -1 with errno on failure (ELOOP for a
// symlink, EXDEV for a mount).
int open_beneath(int dirfd, const std::string& name, int flags, mode_t mode = 0600);
// A directory below dirfd for reading (O_RDONLY | O_DIRECTORY), as open_beneath.
int open_dir_beneath(int dirfd, const std::string& name);

// An absolute path opened as a directory from "/" without following any symlink on the way.
// Throws LayerError naming `path` and saying `what` it is.
UniqueFd open_dir_path(const std::string& path, const std::string& what);

// The names in a directory (no "." or ".."), sorted in byte order. Throws LayerError.
std::vector<std::string> list_dir(int dirfd, const std::string& path);

// readlinkat(2) of any length. Throws LayerError.
std::string read_link(int dirfd, const std::string& name, const std::string& path);

// The xattr `attr` of `name` below dirfd without opening or following it (through
// /proc/self/fd/DIRFD/NAME with lgetxattr), or of an open fd. nullopt when it is not set.
std::optional<std::string> get_xattr_at(int dirfd, const std::string& name, const char* attr,
                                        const std::string& path);
std::optional<std::string> get_xattr_fd(int fd, const char* attr, const std::string& path);

// "dir/name", or "name" when dir is "".
std::string join(const std::string& dir, const std::string& name);

// The last component of a path and the rest.
std::string base_name(const std::string& path);
std::string dir_name(const std::string& path);

}  // namespace sandbox::overlay::fsio
