// sandbox_probe: run inside a sandbox by the integration tests. Each subcommand does one thing
// and prints one line, "NAME key=value key=value ...", where a syscall's result is "ok" or the
// errno's name (EPERM, ENOENT, ...). Linked statically, so it runs wherever it is bound.
//
// Only libc is used (no iostreams): the binary must not depend on the sandbox's /usr.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

namespace {

std::string result(long rc) {
  if (rc >= 0) return "ok";
  const char* name = strerrorname_np(errno);
  return name ? name : std::to_string(errno);
}

void out(const std::string& line) {
  fputs(line.c_str(), stdout);
  fputc('\n', stdout);
  fflush(stdout);
}

std::string join(std::vector<std::string> items, bool sort_numeric = false) {
  if (sort_numeric)
    std::sort(items.begin(), items.end(),
              [](const std::string& a, const std::string& b) { return atol(a.c_str()) < atol(b.c_str()); });
  else
    std::sort(items.begin(), items.end());
  std::string s;
  for (size_t i = 0; i < items.size(); ++i) s += (i ? "," : "") + items[i];
  return s;
}

// Escapes a value so that it stays on one line and has no spaces.
std::string escape(const std::string& in) {
  std::string s;
  for (unsigned char c : in) {
    if (c == '\\') s += "\\\\";
    else if (c == '\n') s += "\\n";
    else if (c == ' ') s += "\\s";
    else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\x%02x", c);
      s += buf;
    } else s += static_cast<char>(c);
  }
  return s;
}

std::string status_field(const char* name) {
  FILE* f = fopen("/proc/self/status", "re");
  if (!f) return "?";
  char line[512];
  std::string value = "?";
  const size_t n = strlen(name);
  while (fgets(line, sizeof(line), f)) {
    if (strncmp(line, name, n) == 0 && line[n] == ':') {
      const char* v = line + n + 1;
      while (*v == ' ' || *v == '\t') ++v;
      value.assign(v, strcspn(v, "\n"));
      break;
    }
  }
  fclose(f);
  return value;
}

std::vector<std::string> numeric_entries(const char* dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir);
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9') out.push_back(e->d_name);
  }
  closedir(d);
  return out;
}

// Runs `fn` in a forked child and returns what it returned (an errno, 0 for success).
template <typename Fn>
int in_child(Fn fn) {
  const pid_t pid = fork();
  if (pid < 0) return errno;
  if (pid == 0) _exit(fn());
  int status;
  if (waitpid(pid, &status, 0) != pid) return errno;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

std::string errno_result(int err) {
  if (err == 0) return "ok";
  if (err == 255) return "CRASHED";
  const char* name = strerrorname_np(err);
  return name ? name : std::to_string(err);
}

// TIOCSTI on a terminal that is the caller's controlling terminal, which the kernel would
// allow (with dev.tty.legacy_tiocsti=1): a fresh pty made the ctty of a new session.
int tiocsti_fresh_pty() {
  if (setsid() < 0) return errno;
  const int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0) return errno;
  if (grantpt(master) != 0 || unlockpt(master) != 0) return errno;
  const char* name = ptsname(master);
  if (!name) return errno;
  const int slave = open(name, O_RDWR);
  if (slave < 0) return errno;
  ioctl(slave, TIOCSCTTY, 0);
  const char c = ' ';
  return ioctl(slave, TIOCSTI, &c) == 0 ? 0 : errno;
}

int write_uid_map_self(uid_t uid, gid_t gid) {
  auto put = [](const char* file, const std::string& text) {
    const int fd = open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    close(fd);
    return ok;
  };
  return put("/proc/self/setgroups", "deny") &&
         put("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1\n") &&
         put("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1\n");
}

volatile sig_atomic_t g_signal = 0;
void on_signal(int sig) { g_signal = sig; }

int usage() {
  fputs("usage: sandbox_probe SUBCOMMAND [ARGS]\n", stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string cmd = argv[1];
  const std::string arg = argc > 2 ? argv[2] : "";

  // A setuid copy of this binary exists while the tests run: as such it only reports ids.
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  getresuid(&ruid, &euid, &suid);
  getresgid(&rgid, &egid, &sgid);
  if ((ruid != euid || rgid != egid) && cmd != "ids") {
    fputs("sandbox_probe: running set-id: only `ids` is allowed\n", stderr);
    return 2;
  }

  if (cmd == "ids") {
    out("ids ruid=" + std::to_string(ruid) + " euid=" + std::to_string(euid) +
        " suid=" + std::to_string(suid) + " rgid=" + std::to_string(rgid) +
        " egid=" + std::to_string(egid) + " sgid=" + std::to_string(sgid) +
        " CapEff=" + status_field("CapEff"));
  } else if (cmd == "caps") {
    std::string line = "caps";
    for (const char* f : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"})
      line += std::string(" ") + f + "=" + status_field(f);
    out(line);
  } else if (cmd == "nnp") {
    out("nnp NoNewPrivs=" + status_field("NoNewPrivs"));
  } else if (cmd == "tiocsti") {
    out("tiocsti result=" + errno_result(in_child(tiocsti_fresh_pty)));
  } else if (cmd == "tiocsti-stdin") {
    const char c = ' ';
    out("tiocsti-stdin isatty=" + std::to_string(isatty(0)) +
        " result=" + result(ioctl(0, TIOCSTI, &c)));
  } else if (cmd == "mount") {
    // The target does not exist: without a filter the kernel answers ENOENT (the path is
    // looked up before privileges are checked), so EPERM can only come from seccomp.
    out("mount result=" + result(mount("none", "/nonexistent-sandbox-probe", "tmpfs", 0, nullptr)));
  } else if (cmd == "fsopen") {
    const long fd = syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
    out("fsopen result=" + result(fd));
  } else if (cmd == "open_tree") {
    // Without OPEN_TREE_CLONE this needs no privilege: only a filter makes it fail.
    const long fd = syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLOEXEC);
    out("open_tree result=" + result(fd));
  } else if (cmd == "keyctl") {
    out("keyctl result=" +
        result(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0)));
  } else if (cmd == "unshare-user") {
    out("unshare-user result=" +
        errno_result(in_child([] { return unshare(CLONE_NEWUSER) == 0 ? 0 : errno; })));
  } else if (cmd == "clone-newuser") {
    const long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid(static_cast<pid_t>(pid), nullptr, 0);
    out("clone-newuser result=" + result(pid));
  } else if (cmd == "clone3") {
    clone_args args{};
    args.exit_signal = SIGCHLD;
    const long pid = syscall(SYS_clone3, &args, sizeof(args));
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid(static_cast<pid_t>(pid), nullptr, 0);
    out("clone3 result=" + result(pid));
  } else if (cmd == "ptrace") {
    out("ptrace result=" + errno_result(in_child([] {
          return ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) == 0 ? 0 : errno;
        })));
  } else if (cmd == "nested-mount") {
    // In a user and mount namespace of its own the mount API is allowed by the kernel, so
    // anything but "ok" after a successful unshare comes from the filter.
    const uid_t uid = getuid();
    const gid_t gid = getgid();
    int pipefd[2];
    if (pipe(pipefd) != 0) return 1;
    const int err = in_child([&] {
      close(pipefd[0]);
      std::string line = "nested-mount";
      auto say = [&](const std::string& s) {
        line += " " + s;
        if (write(pipefd[1], line.data(), line.size()) < 0) {}
        return 0;
      };
      if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return say("unshare=" + result(-1));
      line += " unshare=ok";
      line += std::string(" uid_map=") + (write_uid_map_self(uid, gid) ? "ok" : "failed");
      line += " fsopen=" + result(syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC));
      line += " mount=" + result(mount("none", "/tmp", "tmpfs", 0, nullptr));
      line += " open_tree_clone=" +
              result(syscall(SYS_open_tree, AT_FDCWD, "/",
                                     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
      return say("done=1");
    });
    close(pipefd[1]);
    char buf[1024];
    const ssize_t n = read(pipefd[0], buf, sizeof(buf));
    out(n > 0 ? std::string(buf, static_cast<size_t>(n)) : "nested-mount child=" + errno_result(err));
  } else if (cmd == "ifaces") {
    std::vector<std::string> names;
    if (struct if_nameindex* list = if_nameindex()) {
      for (struct if_nameindex* i = list; i->if_index != 0; ++i) names.push_back(i->if_name);
      if_freenameindex(list);
    }
    std::string lo_up = "?";
    const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq ifr{};
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0) lo_up = (ifr.ifr_flags & IFF_UP) ? "1" : "0";
    out("ifaces names=" + join(names) + " lo_up=" + lo_up);
  } else if (cmd == "tcp-loopback") {
    std::string step = "socket";
    const int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    long rc = l;
    if (rc >= 0) { step = "bind"; rc = bind(l, reinterpret_cast<sockaddr*>(&a), sizeof(a)); }
    if (rc >= 0) { step = "listen"; rc = listen(l, 1); }
    if (rc >= 0) { step = "getsockname"; rc = getsockname(l, reinterpret_cast<sockaddr*>(&a), &len); }
    int c = -1;
    if (rc >= 0) { step = "socket"; rc = c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); }
    if (rc >= 0) { step = "connect"; rc = connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a)); }
    int s = -1;
    if (rc >= 0) { step = "accept"; rc = s = accept(l, nullptr, nullptr); }
    char byte = 'x';
    if (rc >= 0) { step = "send"; rc = send(c, &byte, 1, 0); }
    if (rc >= 0) { step = "recv"; byte = 0; rc = recv(s, &byte, 1, 0); }
    out("tcp-loopback result=" + result(rc) + " step=" + step + " byte=" + std::string(1, byte ? byte : '0'));
  } else if (cmd == "connect") {
    const int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(atoi(arg.c_str())));
    long rc = c;
    if (rc >= 0) rc = connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    if (rc >= 0) rc = send(c, "probe", 5, 0);
    out("connect result=" + result(rc));
  } else if (cmd == "pids") {
    out("pids list=" + join(numeric_entries("/proc"), true));
  } else if (cmd == "find-cmdline") {
    // Is there a process (other than this one) whose argv contains ARG1 ARG2 (concatenated,
    // so that a process whose argv merely lists them as two words does not count)?
    const std::string needle = arg + (argc > 3 ? argv[3] : "");
    int found = 0;
    const std::string self = std::to_string(getpid());
    for (const auto& pid : numeric_entries("/proc")) {
      if (pid == self) continue;
      FILE* f = fopen(("/proc/" + pid + "/cmdline").c_str(), "re");
      if (!f) continue;
      std::string text;
      char buf[4096];
      size_t n;
      while ((n = fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
      fclose(f);
      std::replace(text.begin(), text.end(), '\0', ' ');
      if (text.find(needle) != std::string::npos) ++found;
    }
    out("find-cmdline found=" + std::to_string(found));
  } else if (cmd == "fds") {
    out("fds list=" + join(numeric_entries("/proc/self/fd"), true));
  } else if (cmd == "write") {
    const std::string data = argc > 3 ? argv[3] : "probe";
    const int fd = open(arg.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    long rc = fd;
    if (rc >= 0) rc = write(fd, data.data(), data.size());
    out("write result=" + result(rc));
  } else if (cmd == "read") {
    const int fd = open(arg.c_str(), O_RDONLY | O_CLOEXEC);
    std::string data;
    long rc = fd;
    if (fd >= 0) {
      char buf[4096];
      while ((rc = read(fd, buf, sizeof(buf))) > 0) data.append(buf, static_cast<size_t>(rc));
    }
    if (rc < 0) out("read result=" + result(rc));
    else out("read result=ok len=" + std::to_string(data.size()) + " data=" + escape(data));
  } else if (cmd == "stat") {
    struct stat st;
    if (lstat(arg.c_str(), &st) != 0) {
      out("stat result=" + result(-1));
    } else {
      const char* type = S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file"
                         : S_ISLNK(st.st_mode) ? "link" : S_ISCHR(st.st_mode) ? "chr"
                         : S_ISBLK(st.st_mode) ? "blk" : S_ISFIFO(st.st_mode) ? "fifo" : "sock";
      char mode[16];
      snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
      out(std::string("stat result=ok type=") + type + " mode=" + mode +
          " uid=" + std::to_string(st.st_uid) + " size=" + std::to_string(st.st_size));
    }
  } else if (cmd == "unlink") {
    out("unlink result=" + result(unlink(arg.c_str())));
  } else if (cmd == "mkdir") {
    out("mkdir result=" + result(mkdir(arg.c_str(), 0755)));
  } else if (cmd == "ls") {
    DIR* d = opendir(arg.c_str());
    if (!d) {
      out("ls result=" + result(-1));
    } else {
      std::vector<std::string> names;
      while (dirent* e = readdir(d))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) names.push_back(e->d_name);
      closedir(d);
      out("ls result=ok entries=" + join(names));
    }
  } else if (cmd == "sleep") {
    out("sleep ready");
    sleep(static_cast<unsigned>(atoi(arg.c_str())));
  } else if (cmd == "hostname") {
    char name[256] = {};
    gethostname(name, sizeof(name) - 1);
    out(std::string("hostname name=") + name);
  } else if (cmd == "env") {
    const char* v = getenv(arg.c_str());
    out("env name=" + arg + (v ? " set=1 value=" + escape(v) : " set=0"));
  } else if (cmd == "cwd") {
    char buf[4096];
    out(std::string("cwd path=") + (getcwd(buf, sizeof(buf)) ? buf : "?"));
  } else if (cmd == "exit") {
    return atoi(arg.c_str());
  } else if (cmd == "kill-self") {
    const int sig = atoi(arg.c_str());
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, nullptr);
    kill(getpid(), sig);
    pause();
    return 1;
  } else if (cmd == "trap-term") {
    // Waits for SIGTERM, SIGINT or SIGHUP, then exits with CODE.
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &sa, nullptr);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    out("trap-term ready");
    for (int i = 0; i < 600 && !g_signal; ++i) usleep(100 * 1000);
    out(std::string("trap-term got=") + (g_signal ? sigabbrev_np(g_signal) : "none"));
    return g_signal ? atoi(arg.c_str()) : 1;
  } else if (cmd == "sid") {
    const int tty = open("/dev/tty", O_RDONLY | O_CLOEXEC | O_NOCTTY);
    const std::string ctty = tty >= 0 ? "yes" : errno_result(errno);
    const char* name = ttyname(0);
    out("sid pid=" + std::to_string(getpid()) + " sid=" + std::to_string(getsid(0)) +
        " pgrp=" + std::to_string(getpgrp()) + " tpgid=" + std::to_string(tcgetpgrp(0)) +
        " ctty=" + ctty + " tty0=" + (name ? name : "none"));
  } else {
    return usage();
  }
  return 0;
}
