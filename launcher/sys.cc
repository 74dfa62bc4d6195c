#include "launcher/sys.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "launcher/error.h"

namespace sandbox::launcher {

int openat2_path(int dirfd, const std::string& path, int flags, unsigned long long resolve) {
  open_how how{};
  how.flags = static_cast<unsigned long long>(O_PATH | O_CLOEXEC | flags);
  how.resolve = resolve;
  return static_cast<int>(syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof(how)));
}

void close_fds_except(std::initializer_list<int> keep) {
  std::vector<int> k;
  for (int fd : keep)
    if (fd >= 3) k.push_back(fd);
  std::sort(k.begin(), k.end());
  unsigned from = 3;
  for (int fd : k) {
    if (static_cast<unsigned>(fd) > from) close_range(from, static_cast<unsigned>(fd) - 1, 0);
    from = static_cast<unsigned>(fd) + 1;
  }
  close_range(from, ~0U, 0);
}

void write_file(const std::string& path, const std::string& data) {
  Fd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) throw sys_error("open", path);
  ssize_t n = write(fd.get(), data.data(), data.size());
  if (n < 0) throw sys_error("write", path);
  if (static_cast<size_t>(n) != data.size()) throw sys_error("write", path, EIO);
}

std::optional<std::string> read_file(const std::string& path) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd.get(), buf, sizeof(buf))) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() >= (1u << 20)) break;
  }
  return out;
}

int sys_open_tree(int dirfd, const char* path, unsigned flags) {
  return static_cast<int>(syscall(SYS_open_tree, dirfd, path, flags));
}
int sys_move_mount(int from_dirfd, const char* from_path, int to_dirfd, const char* to_path,
                   unsigned flags) {
  return static_cast<int>(
      syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags));
}
int sys_fsopen(const char* fsname, unsigned flags) {
  return static_cast<int>(syscall(SYS_fsopen, fsname, flags));
}
int sys_fsconfig(int fd, unsigned cmd, const char* key, const void* value, int aux) {
  return static_cast<int>(syscall(SYS_fsconfig, fd, cmd, key, value, aux));
}
int sys_fsmount(int fd, unsigned flags, unsigned attr_flags) {
  return static_cast<int>(syscall(SYS_fsmount, fd, flags, attr_flags));
}
int sys_mount_setattr(int dirfd, const char* path, unsigned flags, unsigned long long attr_set,
                      unsigned long long attr_clr) {
  mount_attr attr{};
  attr.attr_set = attr_set;
  attr.attr_clr = attr_clr;
  return static_cast<int>(syscall(SYS_mount_setattr, dirfd, path, flags, &attr, sizeof(attr)));
}
int sys_pivot_root(const char* new_root, const char* put_old) {
  return static_cast<int>(syscall(SYS_pivot_root, new_root, put_old));
}

void unblock_all_signals() {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

void exec_argv(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(argv[0].c_str(), args.data());
  _exit(127);
}

int reap_within(pid_t pid, int ms) {
  int status = 0;
  for (int waited = 0; waited < ms; waited += 5) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return status;
    usleep(5000);
  }
  kill(pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

}  // namespace sandbox::launcher
