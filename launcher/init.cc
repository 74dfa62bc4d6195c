#include "launcher/init.h"

#include <fcntl.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <functional>

#include "launcher/cgroup.h"
#include "launcher/channel.h"
#include "launcher/error.h"
#include "launcher/mountns.h"
#include "launcher/namespaces.h"
#include "launcher/seccomp.h"
#include "launcher/sys.h"

namespace sandbox::launcher {

namespace {

int g_sock = -1;
bool g_verbose = false;
int g_home_fs = -1;          // the size-capped home's filesystem (mountns.h), or -1
unsigned long long g_home_size = 0;

void note(const std::string& text) {
  if (g_verbose) send_message(g_sock, Message{Message::Type::kLog, {}, text});
}

[[noreturn]] void fail(SetupError e, const std::string& stage) {
  if (e.stage.empty()) e.stage = stage;
  Message m;
  m.type = Message::Type::kError;
  m.error = std::move(e);
  send_message(g_sock, m);
  _exit(m.error.exit_code);
}

void noop_handler(int) {}

// The launcher runs fuse-overlayfs for us (see mountns.cc, fuse_overlay) and answers.
void ask_parent_for_fuse(const std::vector<int>& fds) {
  Message ask;
  ask.type = Message::Type::kFuse;
  ask.text = "start";
  send_message(g_sock, ask, fds);
  auto answer = recv_message(g_sock);
  if (!answer || answer->type != Message::Type::kFuse)
    throw sys_error("start fuse-overlayfs", "", EPIPE, "the launcher did not answer");
  if (answer->text != "ok") throw sys_error("start fuse-overlayfs: " + answer->text, "", EIO);
}

// network.mode filtered: pasta and the filter must be in place before anything else runs.
void ask_parent_for_network() {
  Message ask;
  ask.type = Message::Type::kNet;
  ask.text = "start";
  send_message(g_sock, ask);
  auto answer = recv_message(g_sock);
  if (!answer) throw sys_error("start the filtered network", "", EPIPE, "the launcher did not answer");
  if (answer->type == Message::Type::kError) throw answer->error;
  if (answer->type != Message::Type::kNet || answer->text != "ok")
    throw sys_error("start the filtered network", "", EIO);
}

// Looks `name` up in the PATH of the app's environment (not ours: the child never reads its
// own environ) and execs it. Returns the errno that best explains the failure.
int exec_in_path(const SandboxSpec& spec, char* const argv[], char* const envp[]) {
  const std::string& name = spec.argv[0];
  if (name.find('/') != std::string::npos) {
    execve(name.c_str(), argv, envp);
    return errno;
  }
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& kv : spec.env)
    if (kv.rfind("PATH=", 0) == 0) path = kv.substr(5);
  int best = ENOENT;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t colon = path.find(':', pos);
    if (colon == std::string::npos) colon = path.size();
    std::string dir = path.substr(pos, colon - pos);
    pos = colon + 1;
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + name;
    execve(candidate.c_str(), argv, envp);
    if (errno == EACCES || errno == ENOEXEC) best = errno;  // found, but not runnable
  }
  return best;
}

[[noreturn]] void exec_app(const SandboxSpec& spec, const ChildArgs& a) {
  const std::string stage = "exec";
  sigset_t none;
  sigemptyset(&none);
  for (int sig : forwarded_signals()) signal(sig, SIG_DFL);
  signal(SIGCHLD, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, nullptr);

  // A new session: the app has no way back to the caller's terminal (TIOCSTI, job control).
  if (setsid() < 0) fail(sys_error("setsid"), stage);
  if (a.pty_slave >= 0) {
    if (ioctl(a.pty_slave, TIOCSCTTY, 0) != 0) fail(sys_error("set controlling terminal"), stage);
    for (int fd = 0; fd < 3; ++fd)
      if (dup2(a.pty_slave, fd) < 0) fail(sys_error("dup2 terminal"), stage);
  }
  // Only 0, 1 and 2 go to the app (the channel is O_CLOEXEC and closes at execve).
  close_fds_except({a.sock});

  if (chdir(spec.cwd.c_str()) != 0 && chdir(spec.home.c_str()) != 0 && chdir("/") != 0)
    fail(sys_error("chdir", spec.home), stage);

  std::vector<char*> argv, envp;
  for (const auto& s : spec.argv) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  for (const auto& s : spec.env) envp.push_back(const_cast<char*>(s.c_str()));
  envp.push_back(nullptr);

  try {
    apply_rlimits_in_child(spec.limits, a.rlimit_fallback);
  } catch (SetupError& e) {
    fail(e, "limits");
  }
  // Last step before execve: from here on the filter applies to us too.
  try {
    seccomp::load_in_child(*a.seccomp);
  } catch (SetupError& e) {
    fail(e, "seccomp");
  }
  const int err = exec_in_path(spec, argv.data(), envp.data());
  SetupError e;
  e.op = err == ENOENT ? "command not found:" : "cannot run";
  e.path = spec.argv[0];
  e.err = err;
  e.hint = hint_for("execve", err);
  e.exit_code = err == ENOENT ? 127 : 126;
  fail(e, stage);
}

// pid 1: forward signals to the app, reap everything, leave with the app's status. When pid 1
// exits the kernel kills whatever else is left in the namespace. The status goes to the
// launcher first, so that it need not wait for the kernel to tear the namespaces down (as
// bubblewrap's monitor does with its event fd).
[[noreturn]] void leave(int code, int sig = 0) {
  struct statfs fs;
  if (g_home_fs >= 0 && fstatfs(g_home_fs, &fs) == 0 && fs.f_bavail == 0) {
    Message full;
    full.type = Message::Type::kNotice;
    full.text = "the home's writable layer filled up (home.size " + std::to_string(g_home_size >> 20) +
                " MiB): writes failed with \"No space left on device\"; raise home.size in the profile";
    send_message(g_sock, full);
  }
  Message m;
  m.type = Message::Type::kExit;
  m.exit_code = code;
  m.signal = sig;
  send_message(g_sock, m);
  _exit(code);
}

[[noreturn]] void run_init(pid_t app) {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : forwarded_signals()) sigaddset(&set, sig);
  sigaddset(&set, SIGCHLD);
  for (;;) {
    siginfo_t info;
    if (sigwaitinfo(&set, &info) < 0) continue;
    if (info.si_signo != SIGCHLD) {
      kill(app, info.si_signo);
      continue;
    }
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid != app) continue;
      if (WIFEXITED(status)) leave(WEXITSTATUS(status));
      if (WIFSIGNALED(status)) leave(128 + WTERMSIG(status), WTERMSIG(status));
    }
  }
}

// After setup: fork the app, then stay as its relay (pid 1, or the entered command's parent):
// forward signals, reap, report the status. Runs under the app's seccomp filter itself.
[[noreturn]] void become_relay(const SandboxSpec& spec, const ChildArgs& a) {
  // Signals must have a handler to reach pid 1 of a pid namespace at all (pid_namespaces(7));
  // they stay blocked and are taken with sigwaitinfo.
  struct sigaction sa {};
  sa.sa_handler = noop_handler;
  for (int sig : forwarded_signals()) sigaction(sig, &sa, nullptr);
  sigaction(SIGCHLD, &sa, nullptr);
  // Nothing in the sandbox may ptrace or read the relay's /proc entries.
  prctl(PR_SET_DUMPABLE, 0);

  const pid_t app = fork();
  if (app < 0) fail(sys_error("fork"), "exec");
  if (app == 0) exec_app(spec, a);
  if (a.pty_slave >= 0) close(a.pty_slave);
  // The relay keeps nothing the app lacks: it runs under the same filter from here on.
  try {
    seccomp::load_in_child(*a.seccomp);
  } catch (SetupError& e) {
    kill(app, SIGKILL);
    fail(e, "seccomp");
  }
  run_init(app);
}

struct Stage {
  const char* name;
  std::function<void()> run;
};

}  // namespace

const std::vector<int>& forwarded_signals() {
  static const std::vector<int> sigs = {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT,
                                        SIGUSR1, SIGUSR2, SIGWINCH};
  return sigs;
}

void child_main(const SandboxSpec& spec, const ChildArgs& args) {
  ChildArgs a = args;
  g_sock = a.sock;
  g_verbose = spec.verbose;
  // Die with the launcher. If it already died before this line, the channel shows it.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  pollfd p{a.sock, POLLIN, 0};
  if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR))) _exit(125);
  // Nothing the caller left open reaches pid 1 (or, through it, the app).
  close_fds_except({a.sock, a.pty_slave});
  // pid 1 too leaves the caller's session: whatever it holds can never be the caller's
  // controlling terminal.
  setsid();
  if (a.wait_for_go) {
    auto go = recv_message(g_sock);
    if (!go || go->type != Message::Type::kGo) _exit(125);  // the launcher gave up on us
    a.rlimit_fallback = go->text == "fallback";
    if (unshare(CLONE_NEWCGROUP) != 0) fail(sys_error("unshare", "cgroup namespace"), "cgroup");
  }

  // The child's setup, in order. The seccomp filter is not here: it is loaded by the app's
  // process as the last step before execve (exec_app).
  const Stage stages[] = {
      {"userns", [&] { write_id_maps_in_child(spec.uid, spec.gid); }},
      {"hostname", [&] { set_hostname_in_child(spec.hostname); }},
      {"network",
       [&] {
         if (spec.network != profiles::NetworkMode::kHost) bring_up_loopback_in_child();
         if (spec.network == profiles::NetworkMode::kFiltered) ask_parent_for_network();
       }},
      {"mounts",
       [&] {
         g_home_fs = apply_mounts_in_child(spec, {a.pty_path, a.dbus_sockets}, note,
                                           ask_parent_for_fuse).release();
         g_home_size = spec.home_size;
       }},
      {"privileges", [&] { drop_privileges_in_child(); }},
  };
  for (const Stage& stage : stages) {
    const auto t0 = std::chrono::steady_clock::now();
    try {
      stage.run();
    } catch (SetupError& e) {
      fail(e, stage.name);
    } catch (std::exception& e) {
      fail(SetupError{stage.name, e.what(), "", 0, "", 125}, stage.name);
    }
    if (g_verbose) {
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      char line[128];
      std::snprintf(line, sizeof(line), "stage %s: %.2f ms", stage.name, ms);
      note(line);
    }
  }

  become_relay(spec, a);
}

void enter_child_main(const SandboxSpec& spec, const ChildArgs& a, int pidfd, int ns_flags) {
  g_sock = a.sock;
  g_verbose = spec.verbose;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  close_fds_except({a.sock, a.pty_slave, pidfd});
  setsid();
  // One setns(2) with a pidfd joins every namespace at once, the user namespace first, so the
  // rest are checked against the capabilities we hold there.
  if (setns(pidfd, ns_flags) != 0) {
    SetupError e = sys_error("join the namespaces of", "the sandbox's main process");
    if (e.err == EPERM) e.hint = "the sandbox belongs to another user, or has just ended";
    fail(e, "enter");
  }
  close(pidfd);
  try {
    drop_privileges_in_child();
  } catch (SetupError& e) {
    fail(e, "privileges");
  }
  become_relay(spec, a);
}

}  // namespace sandbox::launcher
