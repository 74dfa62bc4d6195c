#include "launcher/network.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "launcher/error.h"
#include "netpolicy/rules.h"

namespace sandbox::launcher {

namespace {

constexpr int kReadyTimeoutMs = 10000;

std::string port_spec(unsigned lo, unsigned hi) {
  return lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi);
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

// Everything readable on `fd` right now (it is non-blocking), up to a few KiB.
std::string read_available(int fd) {
  std::string out;
  char buf[1024];
  for (ssize_t n; out.size() < 8192 && (n = read(fd, buf, sizeof(buf))) > 0;) out.append(buf, static_cast<size_t>(n));
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// In a forked child before exec: the launcher's signal mask off, die with the launcher.
void child_setup() {
  unblock_all_signals();
  prctl(PR_SET_PDEATHSIG, SIGKILL);
}

}  // namespace

std::vector<std::string> pasta_argv(const SandboxSpec& spec, pid_t pid, const std::string& pid_file) {
  std::string tcp_ns, udp_ns, tcp_in;
  auto append = [](std::string& list, const std::string& item) {
    list += (list.empty() ? "" : ",") + item;
  };
  for (const auto& text : spec.net_allow) {
    const netpolicy::Rule r = netpolicy::parse_rule(text);
    if (r.kind != netpolicy::Rule::Kind::kLocalhost) continue;
    const std::string ports = port_spec(r.port_lo, r.port_hi);
    if (r.proto != netpolicy::Proto::kUdp) append(tcp_ns, ports);
    if (r.proto != netpolicy::Proto::kTcp) append(udp_ns, ports);
  }
  for (unsigned p : spec.publish) append(tcp_in, std::to_string(p));
  return {spec.pasta,
          "--config-net",
          "--foreground",
          "--quiet",
          "--pid", pid_file,
          "--no-map-gw",
          "--tcp-ports", tcp_in.empty() ? "none" : "127.0.0.1/" + tcp_in,
          "--udp-ports", "none",
          "--tcp-ns", tcp_ns.empty() ? "none" : tcp_ns,
          "--udp-ns", udp_ns.empty() ? "none" : udp_ns,
          std::to_string(pid)};
}

void FilteredNetwork::start(const SandboxSpec& spec, pid_t pid, const std::string& record_dir) {
  if (!spec.net_log.empty()) {
    log_file_.reset(open(spec.net_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!log_file_.valid()) throw sys_error("open the network log", spec.net_log);
  }
  if (!record_dir.empty())
    record_log_.reset(open((record_dir + "/net.log").c_str(),
                           O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));

  // pasta stays in the foreground as our child, so that it dies with us (PDEATHSIG) even when
  // we are SIGKILLed: daemonized, it would outlive the sandbox (it does not notice that the
  // namespace of a pid is gone). It writes its pid file once the namespace is configured, in
  // the foreground as when daemonizing: that close is the sync point.
  const std::string run_dir = record_dir.empty() ? std::string("/tmp") : record_dir;
  const std::string pid_file = run_dir + "/pasta.pid";
  unlink(pid_file.c_str());
  Fd watch(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!watch.valid() || inotify_add_watch(watch.get(), run_dir.c_str(), IN_CLOSE_WRITE) < 0)
    throw sys_error("watch", run_dir);
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC | O_NONBLOCK) != 0) throw sys_error("pipe");
  Fd err_read(err_pipe[0]), err_write(err_pipe[1]);
  const std::vector<std::string> argv = pasta_argv(spec, pid, pid_file);
  pasta_ = fork();
  if (pasta_ < 0) throw sys_error("fork", spec.pasta);
  if (pasta_ == 0) {
    child_setup();
    const int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(err_write.get(), 2);
    close_fds_except({});
    exec_argv(argv);
  }
  err_write.reset();
  Fd pasta_fd(static_cast<int>(syscall(SYS_pidfd_open, pasta_, 0)));
  struct stat pid_st {};
  for (bool ready = false; !ready;) {
    pollfd p[2] = {{watch.get(), POLLIN, 0}, {pasta_fd.get(), POLLIN, 0}};
    const int rc = poll(p, 2, kReadyTimeoutMs);
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) throw sys_error("start", spec.pasta, ETIMEDOUT, "pasta did not configure the namespace within 10 s");
    if (p[1].revents) {  // pasta exited: it says why on stderr
      const int status = reap_within(pasta_, 1000);
      pasta_ = 0;
      const std::string said = read_available(err_read.get());
      throw sys_error("start pasta (" + describe_status(status) + (said.empty() ? "" : ": " + said) + ")",
                      spec.pasta, EIO, "the filtered network needs pasta from the passt package");
    }
    char events[4096];
    while (read(watch.get(), events, sizeof(events)) > 0) {
    }
    ready = stat(pid_file.c_str(), &pid_st) == 0 && pid_st.st_size > 0;
  }
  unlink(pid_file.c_str());

  // sandbox-net: rules on stdin (then stdin stays open: EOF is its cue to exit), "ready" or
  // "error: ..." on fd 3, the denials on fd 4.
  int in[2], st[2], lg[2];
  if (pipe2(in, O_CLOEXEC) != 0) throw sys_error("pipe");
  Fd in_read(in[0]), in_write(in[1]);
  if (pipe2(st, O_CLOEXEC) != 0) throw sys_error("pipe");
  Fd st_read(st[0]), st_write(st[1]);
  if (pipe2(lg, O_CLOEXEC | O_NONBLOCK) != 0) throw sys_error("pipe");
  Fd lg_read(lg[0]), lg_write(lg[1]);
  std::vector<std::string> helper_argv = {spec.net_helper, "--target", std::to_string(pid)};
  if (spec.verbose) helper_argv.push_back("--verbose");
  helper_ = fork();
  if (helper_ < 0) throw sys_error("fork", spec.net_helper);
  if (helper_ == 0) {
    child_setup();
    // Flags: the non-blocking read end is ours; the helper's end must block.
    fcntl(lg_write.get(), F_SETFL, 0);
    dup2(in_read.get(), 0);
    dup2(st_write.get(), 3);
    dup2(lg_write.get(), 4);
    // Its stderr stays ours: without --verbose it says only what the user should know (a
    // filter that cannot log, a failed set update).
    const int null = open("/dev/null", O_RDWR);
    dup2(null, 1);
    close_fds_except({3, 4});
    exec_argv(helper_argv);
  }
  in_read.reset();
  st_write.reset();
  lg_write.reset();
  std::string rules;
  for (const auto& r : spec.net_allow) rules += r + "\n";
  rules += "\n";
  if (write(in_write.get(), rules.data(), rules.size()) != static_cast<ssize_t>(rules.size()))
    throw sys_error("send the rules to", spec.net_helper);
  helper_stdin_ = std::move(in_write);
  log_ = std::move(lg_read);

  std::string answer;
  char buf[512];
  for (;;) {
    pollfd p{st_read.get(), POLLIN, 0};
    const int rc = poll(&p, 1, kReadyTimeoutMs);
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) throw sys_error("start", spec.net_helper, ETIMEDOUT, "it did not report ready within 10 s");
    const ssize_t n = read(st_read.get(), buf, sizeof(buf));
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
    if (answer.find('\n') != std::string::npos) break;
  }
  if (answer.rfind("ready", 0) == 0) return;
  while (!answer.empty() && answer.back() == '\n') answer.pop_back();
  if (answer.rfind("error: ", 0) == 0) {
    SetupError e;
    e.op = answer.substr(7);
    e.exit_code = 125;
    throw e;
  }
  const int hs = reap_within(helper_, 1000);
  helper_ = 0;
  throw sys_error("start " + spec.net_helper + " (" + describe_status(hs) + ", no word on why)", "", EIO,
                  "run with -v to see its messages");
}

void FilteredNetwork::write_line(const std::string& line) {
  ++denials_;
  const std::string text = line + "\n";
  for (const Fd* fd : {&log_file_, &record_log_})
    if (fd->valid() && write(fd->get(), text.data(), text.size()) < 0) {
      // A full disk loses log lines, never the sandbox.
    }
}

bool FilteredNetwork::drain() {
  if (!log_.valid()) return false;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(log_.get(), buf, sizeof(buf));
    if (n == 0) {
      if (!partial_.empty()) write_line(partial_);
      partial_.clear();
      log_.reset();
      return false;
    }
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    partial_.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = partial_.find('\n')) != std::string::npos) {
      if (nl > 0) write_line(partial_.substr(0, nl));
      partial_.erase(0, nl + 1);
    }
  }
}

void FilteredNetwork::stop() {
  if (helper_ > 0) {
    helper_stdin_.reset();  // sandbox-net's cue to exit
    reap_within(helper_, 2000);
    helper_ = 0;
  }
  drain();
  if (pasta_ > 0) {
    kill(pasta_, SIGTERM);
    reap_within(pasta_, 1000);
    pasta_ = 0;
  }
}

FilteredNetwork::~FilteredNetwork() { stop(); }

}  // namespace sandbox::launcher
