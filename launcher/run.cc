#include "launcher/run.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <linux/sched.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "launcher/cgroup.h"
#include "launcher/companions.h"
#include "launcher/systemd_scope.h"
#include "launcher/channel.h"
#include "launcher/error.h"
#include "launcher/init.h"
#include "launcher/network.h"
#include "launcher/pty.h"
#include "launcher/seccomp.h"
#include "overlay/layer.h"
#include "overlay/reset.h"

namespace sandbox::launcher {

namespace {

using Clock = std::chrono::steady_clock;

void log_line(const std::string& text) { std::fprintf(stderr, "sandbox: %s\n", text.c_str()); }

RunStatus* g_status = nullptr;  // --json-status: filled in as the run goes

void log_stage(const SandboxSpec& spec, const char* name, Clock::time_point t0,
               const std::string& extra = {}) {
  if (!spec.verbose) return;
  char line[160];
  std::snprintf(line, sizeof(line), "stage %s: %.2f ms%s", name,
                std::chrono::duration<double, std::milli>(Clock::now() - t0).count(), extra.c_str());
  log_line(line);
}

int report(SetupError e, const char* stage) {
  if (e.stage.empty()) e.stage = stage;
  std::fprintf(stderr, "%s\n", e.format().c_str());
  if (g_status) {
    g_status->error = e.format();
    g_status->launcher_failed = e.exit_code == 125;
  }
  return e.exit_code;
}

unsigned long clone_flags(const SandboxSpec& spec) {
  unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC |
                        CLONE_NEWUTS | CLONE_NEWCGROUP;
  if (spec.network != profiles::NetworkMode::kHost) flags |= CLONE_NEWNET;
  return flags;
}

// What the parent holds while a child runs: the seccomp program (the child's copy is in its
// memory), the terminal, the channel and the signalfd.
struct Launch {
  std::vector<sock_filter> seccomp;
  std::optional<Pty> pty;
  Fd parent_sock, child_sock, sigfd;
  sigset_t old_mask{};
  bool mask_set = false;
  FuseOverlayRun fuse;  // fuse-overlayfs, when the kernel refuses overlayfs
  DbusProxyRun dbus;    // xdg-dbus-proxy, for the buses the profile grants
  std::function<void()> on_app_exit;  // runs when pid 1 reports the app's status
  FilteredNetwork* network = nullptr;  // network.mode filtered (run only)
  std::string record_dir;             // the instance record's directory (run only)

  ~Launch() {
    if (mask_set) sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  }
};

// Parent stages shared by `run` and `enter`: seccomp program, terminal, channel, signals.
void prepare(const SandboxSpec& spec, Launch& l) {
  const std::pair<const char*, std::function<void()>> stages[] = {
      {"seccomp", [&] { l.seccomp = seccomp::program_for(spec.seccomp, spec.nested_userns); }},
      {"terminal", [&] { if (spec.terminal) l.pty = open_pty_like(STDIN_FILENO); }},
      {"dbus", [&] { l.dbus.start(spec); }},
      {"channel",
       [&] {
         int sv[2];
         if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
           throw sys_error("socketpair");
         l.parent_sock.reset(sv[0]);
         l.child_sock.reset(sv[1]);
         // Signals are taken through a signalfd, and stay blocked in the child: its relay
         // installs handlers and takes them with sigwaitinfo; the app unblocks them.
         sigset_t set;
         sigemptyset(&set);
         for (int sig : forwarded_signals()) sigaddset(&set, sig);
         sigaddset(&set, SIGCHLD);
         sigprocmask(SIG_BLOCK, &set, &l.old_mask);
         l.mask_set = true;
         l.sigfd.reset(signalfd(-1, &set, SFD_CLOEXEC));
         if (!l.sigfd.valid()) throw sys_error("signalfd");
       }},
  };
  for (const auto& [name, run] : stages) {
    const auto t0 = Clock::now();
    try {
      run();
    } catch (SetupError& e) {
      e.stage = name;
      throw;
    }
    log_stage(spec, name, t0);
  }
}

ChildArgs child_args(Launch& l) {
  ChildArgs args;
  args.sock = l.child_sock.get();
  args.pty_slave = l.pty ? l.pty->slave.get() : -1;
  if (l.pty) args.pty_path = l.pty->path;
  args.dbus_sockets = l.dbus.sockets();
  args.seccomp = &l.seccomp;
  return args;
}

// The parent's side of a running child: relays the terminal, forwards signals, and waits
// until the child's relay reports the app's status (or itself exits). Returns the exit status.
int supervise(pid_t child, const SandboxSpec& spec, Launch& l) {
  l.child_sock.reset();
  if (l.pty) l.pty->slave.reset();
  std::unique_ptr<RawMode> raw;
  if (l.pty) raw = std::make_unique<RawMode>(STDIN_FILENO);
  const int sock = l.parent_sock.get();
  bool stdin_open = l.pty.has_value();
  bool sock_open = true;
  int exit_code = 125;
  bool exited = false;
  std::optional<SetupError> error;
  // limits.timeout: SIGTERM to pid 1 (forwarded to the app) when it expires, SIGKILL of the
  // whole sandbox after a grace period; the exit status is then 124, as timeout(1)'s.
  constexpr int kGraceSeconds = 5;
  Fd timer;
  bool timed_out = false;
  const double timeout = spec.limits.timeout.value_or(0);
  if (timeout > 0) {
    timer.reset(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
    itimerspec its{};
    its.it_value.tv_sec = static_cast<time_t>(timeout);
    its.it_value.tv_nsec = static_cast<long>((timeout - static_cast<double>(its.it_value.tv_sec)) * 1e9);
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
    timerfd_settime(timer.get(), 0, &its, nullptr);
  }
  auto handle = [&](const Message& m, std::vector<int>& fds) {
    if (m.type == Message::Type::kFuse) {
      Message answer;
      answer.type = Message::Type::kFuse;
      answer.text = l.fuse.start(spec, fds);
      send_message(sock, answer);
    } else if (m.type == Message::Type::kNet) {
      const auto t0 = Clock::now();
      Message answer;
      answer.type = Message::Type::kNet;
      answer.text = "ok";
      try {
        if (!l.network) throw sys_error("start the filtered network", "", EINVAL);
        l.network->start(spec, child, l.record_dir);
      } catch (SetupError& e) {
        e.stage = "network";
        answer.type = Message::Type::kError;
        answer.error = e;
      }
      send_message(sock, answer);
      log_stage(spec, "network (pasta, sandbox-net)", t0);
    } else if (m.type == Message::Type::kLog) {
      if (spec.verbose) log_line(m.text);
    } else if (m.type == Message::Type::kNotice) {
      log_line(m.text);
    } else if (m.type == Message::Type::kExit) {
      exit_code = m.exit_code;
      if (g_status) g_status->signal = m.signal;
      exited = true;
      if (l.on_app_exit) l.on_app_exit();
    } else if (!error) {
      error = m.error;
    }
  };
  while (!exited) {
    pollfd fds[6];
    nfds_t n = 0;
    constexpr nfds_t kNone = 99;
    fds[n++] = {l.sigfd.get(), POLLIN, 0};
    const nfds_t timer_i = timer.valid() ? n++ : kNone;
    if (timer_i != kNone) fds[timer_i] = {timer.get(), POLLIN, 0};
    const nfds_t sock_i = sock_open ? n++ : kNone;
    if (sock_open) fds[sock_i] = {sock, POLLIN, 0};
    nfds_t in_i = kNone, master_i = kNone;
    if (l.pty) {
      master_i = n++;
      fds[master_i] = {l.pty->master.get(), POLLIN, 0};
      if (stdin_open) {
        in_i = n++;
        fds[in_i] = {STDIN_FILENO, POLLIN, 0};
      }
    }
    const nfds_t net_i = (l.network && l.network->log_fd() >= 0) ? n++ : kNone;
    if (net_i != kNone) fds[net_i] = {l.network->log_fd(), POLLIN, 0};
    if (poll(fds, n, -1) < 0) continue;
    if (net_i != kNone && fds[net_i].revents) l.network->drain();
    if (timer_i != kNone && (fds[timer_i].revents & POLLIN)) {
      uint64_t expirations;
      if (read(timer.get(), &expirations, sizeof(expirations)) > 0) {
        if (!timed_out) {
          char line[128];
          std::snprintf(line, sizeof(line), "timeout of %g s reached: stopping the sandbox", timeout);
          log_line(line);
          timed_out = true;
          if (g_status) g_status->timed_out = true;
          kill(child, SIGTERM);
          itimerspec grace{};
          grace.it_value.tv_sec = kGraceSeconds;
          timerfd_settime(timer.get(), 0, &grace, nullptr);
        } else {
          kill(child, SIGKILL);
        }
      }
    }
    if (sock_i != kNone && fds[sock_i].revents) {
      std::vector<int> passed;
      auto m = recv_message(sock, &passed);
      if (m)
        handle(*m, passed);
      else
        sock_open = false;
      for (int fd : passed) close(fd);
    }
    if (master_i != kNone && (fds[master_i].revents & POLLIN)) pump(l.pty->master.get(), STDOUT_FILENO);
    if (in_i != kNone && fds[in_i].revents && !pump(STDIN_FILENO, l.pty->master.get()))
      stdin_open = false;
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si;
      if (read(l.sigfd.get(), &si, sizeof(si)) != sizeof(si)) continue;
      const int sig = static_cast<int>(si.ssi_signo);
      int status;
      if (sig == SIGCHLD) {
        if (waitpid(child, &status, WNOHANG) == child) {
          exited = true;
          // The relay died without a word (killed from outside, or a setup failure).
          if (WIFEXITED(status)) exit_code = WEXITSTATUS(status);
          if (WIFSIGNALED(status)) exit_code = 128 + WTERMSIG(status);
        }
      } else if (sig == SIGWINCH && l.pty) {
        copy_window_size(STDIN_FILENO, l.pty->master.get());
      } else {
        kill(child, sig);
      }
    }
  }
  // Whatever the app wrote last, and whatever the child reported.
  if (l.pty) {
    pollfd p{l.pty->master.get(), POLLIN, 0};
    while (poll(&p, 1, 0) > 0 && (p.revents & POLLIN) && pump(l.pty->master.get(), STDOUT_FILENO)) {
    }
  }
  while (sock_open) {
    pollfd p{sock, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) break;
    std::vector<int> passed;
    auto m = recv_message(sock, &passed);
    for (int fd : passed) close(fd);
    if (!m) break;
    handle(*m, passed);
  }
  raw.reset();
  if (error) return report(*error, "");
  return timed_out ? 124 : exit_code;
}

}  // namespace

std::optional<Fd> claim_layer(const SandboxSpec& spec) {
  if (spec.layer_dir.empty()) return Fd();
  const auto paths = overlay::layer_paths(spec.state_dir, spec.app);
  try {
    overlay::ensure_layer(paths, spec.uid);
  } catch (const overlay::LayerError& e) {
    SetupError err = sys_error(std::string(e.what()) + ":", e.path(), e.err());
    err.stage = "layer";
    throw err;
  }
  try {
    return try_lock_layer(paths.root);
  } catch (SetupError& e) {
    e.stage = "layer";
    throw;
  }
}

int run_sandbox(const SandboxSpec& spec, RunStatus* status) {
  g_status = status;
  Launch l;
  try {
    prepare(spec, l);
  } catch (SetupError& e) {
    return report(e, "");
  }
  // Limits: pid 1 waits (sync point "go") until it is in its cgroup, which is made by the
  // first backend that works: a systemd user scope, else a delegated cgroup v2 subtree, else
  // none (rlimits only). Its cgroup namespace is made after the move, so that the sandbox's
  // cgroup is its root.
  const bool limited = wants_cgroup(spec.limits);
  const auto t_clone = Clock::now();
  unsigned long flags = clone_flags(spec);
  if (limited) flags &= ~static_cast<unsigned long>(CLONE_NEWCGROUP);
  const long pid = syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid == 0) {
    l.parent_sock.reset();
    l.sigfd.reset();
    ChildArgs args = child_args(l);
    args.wait_for_go = limited;
    child_main(spec, args);
  }
  if (pid < 0) return report(sys_error("clone", "(new user, mount, pid, ipc, uts, cgroup namespaces)"), "clone");
  log_stage(spec, "clone", t_clone, " (pid " + std::to_string(pid) + ")");

  std::optional<SandboxCgroup> cgroup;  // ours to remove (delegated), or systemd's (scope)
  if (limited) {
    const auto t0 = Clock::now();
    unsigned char rnd[3] = {};
    char tag[8];
    if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) rnd[0] = static_cast<unsigned char>(pid);
    std::snprintf(tag, sizeof(tag), "%02x%02x%02x", rnd[0], rnd[1], rnd[2]);
    const std::string name = spec.app + "-" + tag;
    std::string backend, why_scope, why_delegated;
    why_scope = start_scope("sandbox-" + name + ".scope", static_cast<pid_t>(pid), spec.limits,
                            "sandbox " + spec.app + " (" + spec.profile_name + ")");
    if (why_scope.empty()) {
      cgroup = SandboxCgroup::of_process(static_cast<pid_t>(pid));
      backend = "systemd user scope sandbox-" + name + ".scope";
    } else if ((cgroup = SandboxCgroup::create(name, spec.limits, why_delegated))) {
      if (!cgroup->add(static_cast<pid_t>(pid))) {
        why_delegated = "cannot move the sandbox into " + cgroup->path() + ": " + std::strerror(errno);
        cgroup.reset();
      } else {
        backend = "delegated cgroup " + cgroup->path();
      }
    }
    Message go;
    go.type = Message::Type::kGo;
    if (status) status->limits_backend = backend.empty() ? "rlimits" : backend;
    if (backend.empty()) {
      const std::string why = why_scope + "; " + why_delegated;
      if (spec.limits.required.value_or(false)) {
        kill(static_cast<pid_t>(pid), SIGKILL);
        waitpid(static_cast<pid_t>(pid), nullptr, 0);
        return report(sys_error("apply the cgroup limits:", why, EOPNOTSUPP,
                                "limits.required is set; run under a systemd user manager or in a "
                                "delegated cgroup v2 subtree, or drop limits.required"),
                      "cgroup");
      }
      log_line("cgroup limits not applied (" + why + "): memory is capped with RLIMIT_AS only, "
               "processes with RLIMIT_NPROC; cpu and io_weight are not enforced");
      go.text = "fallback";
    } else if (spec.verbose) {
      log_line("limits: " + backend);
    }
    send_message(l.parent_sock.get(), go);
    log_stage(spec, "cgroup", t0);
  }

  // The record that `sandbox ps`, `enter` and `stop` find; removed when we return.
  InstanceHandle record;
  try {
    InstanceRecord r;
    r.app = spec.app;
    r.profile = spec.profile_name;
    r.launcher_pid = getpid();
    r.init_pid = static_cast<pid_t>(pid);
    r.init_start = 0;
    r.started = std::time(nullptr);
    r.seccomp = profiles::to_string(spec.seccomp);
    r.nested_userns = spec.nested_userns;
    r.own_network = spec.network != profiles::NetworkMode::kHost;
    r.network = profiles::to_string(spec.network);
    r.home = spec.home;
    r.cwd = spec.cwd;
    r.env = spec.env;
    if (cgroup) r.cgroup = cgroup->path();
    r.init_start = process_start_time(static_cast<pid_t>(pid));
    record = InstanceHandle::create(spec.instances_dir, std::move(r));
  } catch (SetupError& e) {
    kill(static_cast<pid_t>(pid), SIGKILL);
    waitpid(static_cast<pid_t>(pid), nullptr, 0);
    return report(e, "record");
  }
  // The counters, read while pid 1 still holds the cgroup (systemd collects an empty scope).
  CgroupUsage u;
  if (cgroup) l.on_app_exit = [&] { u = cgroup->usage(); };
  FilteredNetwork network;
  if (spec.network == profiles::NetworkMode::kFiltered) {
    l.network = &network;
    l.record_dir = record.dir();
  }
  int code = supervise(static_cast<pid_t>(pid), spec, l);
  network.stop();
  if (status && spec.network == profiles::NetworkMode::kFiltered) status->network_denials = network.denials();
  if (network.denials() > 0)
    log_line("network: " + std::to_string(network.denials()) + " names or connections refused" +
             (spec.net_log.empty() ? " (--net-log FILE lists them)" : " (listed in " + spec.net_log + ")"));
  if (cgroup) {
    // The kernel may count the kill a moment after the app's status reached us.
    if (code == 137 && u.oom_kills == 0 && u.ooms == 0) {
      usleep(50000);
      const CgroupUsage later = cgroup->usage();
      if (later.memory_peak) u = later;
    }
    if ((u.oom_kills > 0 || u.ooms > 0) && spec.limits.memory) {
      log_line("memory limit " + std::to_string(*spec.limits.memory >> 20) + "M reached: the kernel "
               "killed the app (raise limits.memory or --memory)");
      code = 137;
    }
    if (u.pids_max_hits > 0) log_line("process limit " + std::to_string(spec.limits.pids.value_or(0)) +
                                      " reached: forks failed");
    if (spec.verbose) {
      char line[160];
      std::snprintf(line, sizeof(line), "usage: peak memory %.1f MiB, cpu time %.2f s, processes at most %llu",
                    static_cast<double>(u.memory_peak) / (1 << 20), static_cast<double>(u.cpu_usec) / 1e6,
                    u.pids_peak);
      log_line(line);
    }
    if (status) {
      status->memory_limit_hit = (u.oom_kills > 0 || u.ooms > 0) && spec.limits.memory;
      status->pids_limit_hit = u.pids_max_hits > 0;
      if (u.memory_peak) {
        status->peak_memory = u.memory_peak;
        status->peak_memory_source = "cgroup";
      }
      status->cpu_seconds = static_cast<double>(u.cpu_usec) / 1e6;
    }
  }
  if (status && !cgroup) {
    // Without a cgroup: what the kernel kept of pid 1 and everything it reaped (the whole
    // sandbox), once pid 1 is gone; memory is the largest single process's.
    while (waitpid(static_cast<pid_t>(pid), nullptr, 0) < 0 && errno == EINTR) {
    }
    rusage ru{};
    if (getrusage(RUSAGE_CHILDREN, &ru) == 0) {
      status->peak_memory = static_cast<unsigned long long>(ru.ru_maxrss) * 1024;
      status->peak_memory_source = "largest process";
      status->cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                            static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    }
  }
  return code;
}

int enter_sandbox(const InstanceRecord& target, const std::vector<std::string>& argv, bool verbose) {
  // The entered command gets what the sandbox's app got: its environment, home and policy.
  SandboxSpec spec;
  spec.app = target.app;
  spec.argv = argv;
  spec.env = target.env;
  spec.cwd = target.cwd;
  spec.home = target.home;
  spec.seccomp = profiles::parse_seccomp_policy(target.seccomp).value_or(profiles::SeccompPolicy::kStrict);
  spec.nested_userns = target.nested_userns;
  spec.terminal = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
  spec.verbose = verbose;

  const pid_t main_pid = main_process_of(target);
  Fd pidfd(main_pid > 0 ? static_cast<int>(syscall(SYS_pidfd_open, main_pid, 0)) : -1);
  if (!pidfd.valid())
    return report(sys_error("find the main process of", target.id, main_pid > 0 ? -1 : ESRCH,
                            "the sandbox has ended"), "enter");
  int ns = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
  if (target.own_network) ns |= CLONE_NEWNET;

  Launch l;
  try {
    prepare(spec, l);
  } catch (SetupError& e) {
    return report(e, "");
  }
  const pid_t pid = fork();
  if (pid == 0) {
    l.parent_sock.reset();
    l.sigfd.reset();
    enter_child_main(spec, child_args(l), pidfd.get(), ns);
  }
  if (pid < 0) return report(sys_error("fork"), "enter");
  return supervise(pid, spec, l);
}

}  // namespace sandbox::launcher
