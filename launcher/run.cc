#include "launcher/run.h"

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>

#include "launcher/channel.h"
#include "launcher/error.h"
#include "launcher/init.h"
#include "launcher/pty.h"
#include "launcher/seccomp.h"
#include "launcher/sys.h"
#include "overlay/layer.h"

namespace sandbox::launcher {

namespace {

void log_line(const std::string& text) { std::fprintf(stderr, "sandbox: %s\n", text.c_str()); }

struct ParentState {
  std::vector<sock_filter> seccomp;
  std::optional<Pty> pty;
};

unsigned long clone_flags(const SandboxSpec& spec) {
  unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC |
                        CLONE_NEWUTS | CLONE_NEWCGROUP;
  if (spec.network == profiles::NetworkMode::kNone) flags |= CLONE_NEWNET;
  return flags;
}

// The parent's side of a running sandbox: relays the terminal, forwards signals, and waits
// until pid 1 reports the app's status (or itself exits). Returns the exit status to leave with.
int supervise(pid_t child, int sock, int sigfd, const SandboxSpec& spec, ParentState& st,
              std::optional<SetupError>& error) {
  std::unique_ptr<RawMode> raw;
  if (st.pty) raw = std::make_unique<RawMode>(STDIN_FILENO);
  bool stdin_open = st.pty.has_value();
  bool sock_open = true;
  int exit_code = 125;
  bool exited = false;
  auto handle = [&](const Message& m) {
    if (m.type == Message::Type::kLog) {
      if (spec.verbose) log_line(m.text);
    } else if (m.type == Message::Type::kExit) {
      exit_code = m.exit_code;
      exited = true;
    } else if (!error) {
      error = m.error;
    }
  };
  while (!exited) {
    pollfd fds[4];
    nfds_t n = 0;
    fds[n++] = {sigfd, POLLIN, 0};
    const nfds_t sock_i = sock_open ? n++ : 99;
    if (sock_open) fds[sock_i] = {sock, POLLIN, 0};
    nfds_t in_i = 99, master_i = 99;
    if (st.pty) {
      master_i = n++;
      fds[master_i] = {st.pty->master.get(), POLLIN, 0};
      if (stdin_open) {
        in_i = n++;
        fds[in_i] = {STDIN_FILENO, POLLIN, 0};
      }
    }
    if (poll(fds, n, -1) < 0) continue;
    if (sock_i != 99 && fds[sock_i].revents) {
      auto m = recv_message(sock);
      if (m)
        handle(*m);
      else
        sock_open = false;
    }
    if (master_i != 99 && (fds[master_i].revents & POLLIN))
      pump(st.pty->master.get(), STDOUT_FILENO);
    if (in_i != 99 && fds[in_i].revents) {
      if (!pump(STDIN_FILENO, st.pty->master.get())) stdin_open = false;
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si;
      if (read(sigfd, &si, sizeof(si)) != sizeof(si)) continue;
      const int sig = static_cast<int>(si.ssi_signo);
      int status;
      if (sig == SIGCHLD) {
        if (waitpid(child, &status, WNOHANG) == child) {
          exited = true;
          // pid 1 died without a word (killed from outside, or a setup failure).
          if (WIFEXITED(status)) exit_code = WEXITSTATUS(status);
          if (WIFSIGNALED(status)) exit_code = 128 + WTERMSIG(status);
        }
      } else if (sig == SIGWINCH && st.pty) {
        copy_window_size(STDIN_FILENO, st.pty->master.get());
      } else {
        kill(child, sig);
      }
    }
  }
  // Whatever the app wrote last, and whatever the child reported.
  if (st.pty) {
    pollfd p{st.pty->master.get(), POLLIN, 0};
    while (poll(&p, 1, 0) > 0 && (p.revents & POLLIN) && pump(st.pty->master.get(), STDOUT_FILENO)) {
    }
  }
  while (sock_open) {
    pollfd p{sock, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) break;
    auto m = recv_message(sock);
    if (!m) break;
    handle(*m);
  }
  return exit_code;
}

}  // namespace

int run_sandbox(const SandboxSpec& spec) {
  ParentState st;
  using Clock = std::chrono::steady_clock;

  // The parent's stages, in order. Nothing here changes the host except the app's layer,
  // which is created empty (0700) the first time.
  const std::pair<const char*, std::function<void()>> stages[] = {
      {"layer",
       [&] {
         if (spec.home_mode != profiles::HomeMode::kOverlay) return;
         try {
           overlay::ensure_layer(overlay::layer_paths(spec.state_dir, spec.app), spec.uid);
         } catch (const overlay::LayerError& e) {
           throw sys_error(std::string(e.what()) + ":", e.path(), e.err());
         }
       }},
      {"seccomp",
       [&] { st.seccomp = seccomp::program_for(spec.seccomp, spec.nested_userns); }},
      {"terminal",
       [&] {
         if (spec.terminal) st.pty = open_pty_like(STDIN_FILENO);
       }},
  };
  for (const auto& [name, run] : stages) {
    const auto t0 = Clock::now();
    try {
      run();
    } catch (SetupError& e) {
      e.stage = name;
      std::fprintf(stderr, "%s\n", e.format().c_str());
      return e.exit_code;
    }
    if (spec.verbose) {
      char line[128];
      std::snprintf(line, sizeof(line), "stage %s: %.2f ms", name,
                    std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      log_line(line);
    }
  }

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    SetupError e = sys_error("socketpair");
    e.stage = "clone";
    std::fprintf(stderr, "%s\n", e.format().c_str());
    return 125;
  }
  Fd parent_sock(sv[0]), child_sock(sv[1]);

  // Signals are taken through a signalfd, and stay blocked in the child: its init installs
  // handlers and takes them with sigwaitinfo; the app unblocks them before execve.
  sigset_t set, old;
  sigemptyset(&set);
  for (int sig : forwarded_signals()) sigaddset(&set, sig);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, &old);
  Fd sigfd(signalfd(-1, &set, SFD_CLOEXEC));

  const auto t_clone = Clock::now();
  const long pid = syscall(SYS_clone, clone_flags(spec) | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid == 0) {
    parent_sock.reset();
    sigfd.reset();
    ChildArgs args;
    args.sock = child_sock.get();
    args.pty_slave = st.pty ? st.pty->slave.get() : -1;
    if (st.pty) args.pty_path = st.pty->path;
    args.seccomp = &st.seccomp;
    child_main(spec, args);
  }
  if (pid < 0) {
    SetupError e = sys_error("clone", "(new user, mount, pid, ipc, uts, cgroup namespaces)");
    e.stage = "clone";
    sigprocmask(SIG_SETMASK, &old, nullptr);
    std::fprintf(stderr, "%s\n", e.format().c_str());
    return 125;
  }
  if (spec.verbose) {
    char line[128];
    std::snprintf(line, sizeof(line), "stage clone: %.2f ms (pid %ld)",
                  std::chrono::duration<double, std::milli>(Clock::now() - t_clone).count(), pid);
    log_line(line);
  }
  child_sock.reset();
  if (st.pty) st.pty->slave.reset();

  std::optional<SetupError> error;
  const int code = supervise(static_cast<pid_t>(pid), parent_sock.get(), sigfd.get(), spec, st, error);
  sigprocmask(SIG_SETMASK, &old, nullptr);
  if (error) {
    std::fprintf(stderr, "%s\n", error->format().c_str());
    return error->exit_code;
  }
  return code;
}

}  // namespace sandbox::launcher
