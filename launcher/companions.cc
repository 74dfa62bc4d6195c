#include "launcher/companions.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "launcher/error.h"
#include "overlay/reset.h"

namespace sandbox::launcher {

// Removes a directory the launcher made (a throwaway layer, the proxy's socket dir), without
// following symlinks; best effort, at exit.
void remove_dir_tree(const std::string& dir) {
  const std::string parent = dir.substr(0, dir.rfind('/'));
  Fd fd(open(parent.empty() ? "/" : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  try {
    if (fd.valid()) overlay::remove_tree(fd.get(), dir.substr(dir.rfind('/') + 1), dir);
  } catch (const overlay::LayerError&) {
  }
}

DbusProxyRun::~DbusProxyRun() {
  if (pid_ > 0) {
    sync_.reset();  // the proxy's cue to exit
    reap_within(pid_, 500);
  }
  if (!dir_.empty()) remove_dir_tree(dir_);
}

void DbusProxyRun::start(const SandboxSpec& spec) {
  if (spec.dbus.empty()) return;
  mkdir(spec.instances_dir.substr(0, spec.instances_dir.rfind('/')).c_str(), 0700);
  mkdir(spec.instances_dir.c_str(), 0700);
  std::string dir = spec.instances_dir + "/dbus-XXXXXX";
  if (!mkdtemp(dir.data())) throw sys_error("create", spec.instances_dir + "/dbus-XXXXXX");
  dir_ = dir;
  std::vector<desktop::BusProxy> buses = spec.dbus;
  for (auto& b : buses) {
    b.socket = dir + "/" + b.bus;
    sockets_[b.bus] = b.socket;
  }
  int sync[2];
  if (pipe2(sync, O_CLOEXEC) != 0) throw sys_error("pipe");
  Fd read_end(sync[0]), write_end(sync[1]);
  const std::vector<std::string> argv = desktop::proxy_argv(spec.dbus_proxy, buses, 3);
  const pid_t pid = fork();
  if (pid < 0) throw sys_error("fork", spec.dbus_proxy);
  if (pid == 0) {
    dup2(write_end.get(), 3);
    close_fds_except({3});
    unblock_all_signals();
    exec_argv(argv);  // argv[0] is spec.dbus_proxy
  }
  pid_ = pid;
  write_end.reset();
  pollfd p{read_end.get(), POLLIN, 0};
  char byte;
  if (poll(&p, 1, 10000) <= 0 || read(read_end.get(), &byte, 1) != 1)
    throw sys_error("start", spec.dbus_proxy, EIO, "xdg-dbus-proxy did not come up; is the bus address right?");
  sync_ = std::move(read_end);
}

namespace {

// The fuse-overlayfs daemon among our children (re-parented to us when it daemonized).
pid_t find_fuse_daemon() {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/task/%d/children", getpid(), getpid());
  FILE* f = std::fopen(path, "re");
  if (!f) return 0;
  long pid = 0;
  pid_t found = 0;
  while (!found && std::fscanf(f, "%ld", &pid) == 1) {
    char comm_path[64], comm[32] = {};
    std::snprintf(comm_path, sizeof(comm_path), "/proc/%ld/comm", pid);
    if (FILE* c = std::fopen(comm_path, "re")) {
      if (std::fgets(comm, sizeof(comm), c) && std::strncmp(comm, "fuse-overlayfs", 14) == 0)
        found = static_cast<pid_t>(pid);
      std::fclose(c);
    }
  }
  std::fclose(f);
  return found;
}

}  // namespace

// fuse-overlayfs needs paths it can name, so an ephemeral home gets a layer on the host.
std::string FuseOverlayRun::start(const SandboxSpec& spec, const std::vector<int>& fds) {
  if (fds.size() != 1 || spec.fuse_overlayfs.empty()) return "bad request";
  std::string layer = spec.layer_dir;
  if (layer.empty()) {
    std::string tmpl = spec.state_dir + "/.ephemeral-XXXXXX";
    mkdir(spec.state_dir.c_str(), 0700);
    if (!mkdtemp(tmpl.data())) return "mkdtemp " + tmpl + ": " + std::strerror(errno);
    throwaway_layer_ = layer = tmpl;
    if (mkdir((layer + "/upper").c_str(), 0700) != 0 || mkdir((layer + "/work").c_str(), 0700) != 0)
      return "mkdir " + layer + ": " + std::strerror(errno);
  }
  // A layer last mounted by the kernel's overlayfs has work/work left with mode 000, which
  // fuse-overlayfs (it works in the same work/work) cannot open: "cannot open workdir". Its
  // content is scratch either way (the kernel empties it at every mount), so it is made
  // usable again. Opened without following symlinks: the layer is ours and locked.
  if (!spec.layer_dir.empty()) {
    Fd work(openat2_path(AT_FDCWD, layer + "/work", O_DIRECTORY,
                         RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS));
    struct stat st {};
    if (work.valid() && fstatat(work.get(), "work", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(st.st_mode) && st.st_uid == geteuid() && (st.st_mode & 0700) != 0700 &&
        fchmodat(work.get(), "work", 0700, 0) != 0) {
      // Not fatal here: fuse-overlayfs then says what it cannot open.
    }
  }
  const std::string options =
      "lowerdir=" + spec.home + ",upperdir=" + layer + "/upper,workdir=" + layer + "/work";
  // The daemon it leaves behind is re-parented to us, not to the system's init, so that we
  // can wait for it at the end and leave nothing behind.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  const pid_t pid = fork();
  if (pid < 0) return std::string("fork: ") + std::strerror(errno);
  if (pid == 0) {
    dup2(fds[0], 3);  // not O_CLOEXEC: fuse-overlayfs serves it
    close_fds_except({3});
    unblock_all_signals();
    if (!spec.verbose) {
      const int null = open("/dev/null", O_RDWR);
      dup2(null, 1);
      dup2(null, 2);
    }
    // libfuse takes a mountpoint of /dev/fd/N as "already mounted on this /dev/fuse fd".
    execl(spec.fuse_overlayfs.c_str(), "fuse-overlayfs", "-o", options.c_str(), "/dev/fd/3",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    daemon_ = find_fuse_daemon();
    return "ok";
  }
  return spec.fuse_overlayfs + " failed (" +
         (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                            : "signal " + std::to_string(WTERMSIG(status))) +
         "); run with -v to see its messages";
}

FuseOverlayRun::~FuseOverlayRun() {
  // fuse-overlayfs ends when its mount goes, with the sandbox's mount namespace.
  if (daemon_ > 0) reap_within(daemon_, 2000);
  if (!throwaway_layer_.empty()) remove_dir_tree(throwaway_layer_);
}

}  // namespace sandbox::launcher
