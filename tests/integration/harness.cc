#include "tests/integration/harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>

namespace sandbox::it {

using Clock = std::chrono::steady_clock;

namespace {

long ms_left(Clock::time_point deadline) {
  return std::max<long>(
      0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
}

void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

std::string cmdline_of(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  if (!text) return "?";
  std::replace(text->begin(), text->end(), '\0', ' ');
  return *text;
}

}  // namespace

// ---- Results and parsing ----

std::string Result::describe() const {
  std::ostringstream s;
  s << "exit=" << exit_code << " signal=" << term_signal << (timed_out ? " TIMED OUT" : "")
    << "\n--- stdout ---\n" << out << "--- stderr ---\n" << err << "--------------";
  return s.str();
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t pos = 0;
  for (;;) {
    const size_t next = s.find(sep, pos);
    out.push_back(s.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  return out;
}

std::optional<Fields> find_line(const std::string& out, const std::string& name) {
  for (const auto& raw : split(out, '\n')) {
    std::string line = raw;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // A terminal may put a prompt or echo before the line: look for "name " anywhere at a
    // word start.
    size_t at = line.find(name + " ");
    while (at != std::string::npos && at > 0 && line[at - 1] != ' ' && line[at - 1] != '\n')
      at = line.find(name + " ", at + 1);
    if (at == std::string::npos) continue;
    Fields f;
    for (const auto& tok : split(line.substr(at + name.size() + 1), ' ')) {
      const size_t eq = tok.find('=');
      if (eq == std::string::npos) continue;
      f[tok.substr(0, eq)] = tok.substr(eq + 1);
    }
    return f;
  }
  return std::nullopt;
}

std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    const char c = s[++i];
    if (c == 'n') out += '\n';
    else if (c == 's') out += ' ';
    else if (c == 'x' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else out += c;
  }
  return out;
}

// ---- Files ----

void write_file(const std::string& path, const std::string& content, mode_t mode) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) throw std::runtime_error("open " + path + ": " + strerror(errno));
  const bool ok = write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  fchmod(fd, mode);
  close(fd);
  if (!ok) throw std::runtime_error("write " + path);
}

std::optional<std::string> read_file(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  if (n < 0) return std::nullopt;
  return out;
}

bool exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

void make_dirs(const std::string& path, mode_t mode) {
  std::string so_far;
  for (const auto& part : split(path, '/')) {
    if (part.empty()) continue;
    so_far += "/" + part;
    if (mkdir(so_far.c_str(), mode) != 0 && errno != EEXIST)
      throw std::runtime_error("mkdir " + so_far + ": " + strerror(errno));
  }
}

void remove_tree(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    // overlayfs leaves work/work at mode 0000: make every directory ours to list and empty.
    chmod(path.c_str(), 0700);
    if (DIR* d = opendir(path.c_str())) {
      std::vector<std::string> names;
      while (dirent* e = readdir(d))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) names.push_back(e->d_name);
      closedir(d);
      for (const auto& n : names) remove_tree(path + "/" + n);
    }
    rmdir(path.c_str());
  } else {
    unlink(path.c_str());
  }
}

void remove_stale(const std::string& dir, const std::string& prefix) {
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  std::vector<std::string> stale;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind(prefix, 0) != 0) continue;
    // PREFIX, the pid, then '-' or '.': nothing else is ours.
    char* end = nullptr;
    const long pid = strtol(name.c_str() + prefix.size(), &end, 10);
    if (end == name.c_str() + prefix.size() || (*end != '-' && *end != '.')) continue;
    if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      stale.push_back(dir + "/" + name);
  }
  closedir(d);
  for (const auto& path : stale) remove_tree(path);
}

std::vector<pid_t> find_processes(const std::string& marker) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    const pid_t pid = static_cast<pid_t>(atol(e->d_name));
    if (pid == getpid()) continue;
    if (cmdline_of(pid).find(marker) != std::string::npos) out.push_back(pid);
  }
  closedir(d);
  return out;
}

std::string unique_marker(const std::string& what) {
  static std::atomic<int> n{0};
  return "it-marker-" + what + "-" + std::to_string(getpid()) + "-" + std::to_string(++n);
}

// ---- Processes ----

Process::Process(const std::vector<std::string>& argv, const SpawnOptions& opts) {
  int in[2] = {-1, -1}, out[2], err[2];
  const bool piped_in = opts.stdin_data.has_value();
  if ((piped_in && pipe2(in, O_CLOEXEC) != 0) || pipe2(out, O_CLOEXEC) != 0 ||
      pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe2");
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : opts.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const pid_t parent = getpid();

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork");
  if (pid_ == 0) {
    // The launcher must not outlive a test process that crashes.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (opts.ctty >= 0) {
      setsid();
      ioctl(opts.ctty, TIOCSCTTY, 0);
    }
    if (opts.tty >= 0) {
      setsid();
      ioctl(opts.tty, TIOCSCTTY, 0);
      for (int fd = 0; fd < 3; ++fd) dup2(opts.tty, fd);
    } else {
      if (piped_in) {
        dup2(in[0], 0);
      } else {
        const int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        dup2(null, 0);
      }
      dup2(out[1], 1);
      dup2(err[1], 2);
    }
    if (!opts.cwd.empty() && chdir(opts.cwd.c_str()) != 0) _exit(124);
    if (opts.in_child) opts.in_child();
    execve(args[0], args.data(), envp.data());
    dprintf(2, "execve %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  if (piped_in) {
    close(in[0]);
    in_ = in[1];
    set_nonblock(in_);
    stdin_data_ = *opts.stdin_data;
    if (stdin_data_.empty()) {
      close(in_);
      in_ = -1;
    }
  }
  close(out[1]);
  close(err[1]);
  out_ = out[0];
  err_ = err[0];
  set_nonblock(out_);
  set_nonblock(err_);
}

Process::~Process() {
  if (running()) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  for (int fd : {in_, out_, err_})
    if (fd >= 0) close(fd);
}

bool Process::pump(int timeout_ms) {
  pollfd fds[3];
  nfds_t n = 0;
  int* which[3];
  if (out_ >= 0) { which[n] = &out_; fds[n++] = {out_, POLLIN, 0}; }
  if (err_ >= 0) { which[n] = &err_; fds[n++] = {err_, POLLIN, 0}; }
  if (in_ >= 0) { which[n] = &in_; fds[n++] = {in_, POLLOUT, 0}; }
  if (n == 0) return false;
  if (poll(fds, n, timeout_ms) <= 0) return true;
  for (nfds_t i = 0; i < n; ++i) {
    if (!fds[i].revents) continue;
    int& fd = *which[i];
    if (&fd == &in_) {
      const ssize_t w = write(in_, stdin_data_.data() + stdin_off_, stdin_data_.size() - stdin_off_);
      if (w > 0) stdin_off_ += static_cast<size_t>(w);
      if ((w < 0 && errno != EAGAIN) || stdin_off_ == stdin_data_.size()) {
        close(in_);
        in_ = -1;
      }
      continue;
    }
    char buf[65536];
    const ssize_t r = read(fd, buf, sizeof(buf));
    if (r > 0) {
      (&fd == &out_ ? result_.out : result_.err).append(buf, static_cast<size_t>(r));
    } else if (r == 0 || errno != EAGAIN) {
      close(fd);
      fd = -1;
    }
  }
  return true;
}

bool Process::wait_for_stdout(const std::string& text, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (result_.out.find(text) == std::string::npos) {
    if (ms_left(deadline) == 0) return false;
    if (!pump(static_cast<int>(std::min<long>(ms_left(deadline), 100)))) return false;
  }
  return true;
}

Result Process::wait(int timeout_s) {
  if (reaped_) return result_;
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  for (;;) {
    // Keep reading (a full pipe would block the child) until the child exits and its pipes
    // are drained; a grandchild holding the pipes open must not hang us past the deadline.
    pump(50);
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      const auto drain_deadline = Clock::now() + std::chrono::seconds(2);
      while ((out_ >= 0 || err_ >= 0) && ms_left(drain_deadline) > 0) pump(50);
      break;
    }
    if (ms_left(deadline) == 0) {
      result_.timed_out = true;
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
  }
  reaped_ = true;
  if (WIFEXITED(status)) result_.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result_.term_signal = WTERMSIG(status);
  return result_;
}

Result run(const std::vector<std::string>& argv, const SpawnOptions& opts, int timeout_s) {
  Process p(argv, opts);
  return p.wait(timeout_s);
}

// ---- The fixture ----

void SandboxTest::SetUp() {
  if (!userns_unavailable_reason().empty()) GTEST_SKIP() << userns_unavailable_reason();
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const char* real_home = getenv("HOME");
  ASSERT_NE(real_home, nullptr);
  std::string name = std::string(info->test_suite_name()) + "." + info->name();
  std::replace(name.begin(), name.end(), '/', '_');
  // sandbox-it-PID-...: main() removes what a killed test process left (see remove_stale).
  std::string templ =
      std::string(real_home) + "/sandbox-it-" + std::to_string(getpid()) + "-" + name + "-XXXXXX";
  ASSERT_NE(mkdtemp(templ.data()), nullptr) << "mkdtemp " << templ << ": " << strerror(errno);
  char resolved[PATH_MAX];
  ASSERT_NE(realpath(templ.c_str(), resolved), nullptr);
  home_ = resolved;
}

void SandboxTest::TearDown() {
  // main() made this process a child subreaper: anything a sandbox left running would have
  // become our child. Nothing may be left once the launcher has exited.
  std::vector<pid_t> left;
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  for (;;) {
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    left.clear();
    DIR* d = opendir("/proc");
    while (dirent* e = d ? readdir(d) : nullptr) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      const pid_t pid = static_cast<pid_t>(atol(e->d_name));
      auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
      if (!stat) continue;
      const size_t paren = stat->rfind(')');
      if (paren == std::string::npos) continue;
      std::istringstream rest(stat->substr(paren + 2));
      char state;
      pid_t ppid;
      rest >> state >> ppid;
      if (ppid == getpid()) left.push_back(pid);
    }
    if (d) closedir(d);
    if (left.empty() || ms_left(deadline) == 0) break;
    usleep(50 * 1000);
  }
  for (pid_t pid : left) {
    ADD_FAILURE() << "process " << pid << " (" << cmdline_of(pid) << ") outlived its sandbox";
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  if (getenv("SANDBOX_IT_KEEP")) return;
  if (!home_.empty()) remove_tree(home_);
  for (const auto& dir : scratch_) remove_tree(dir);
}

std::string SandboxTest::outside_dir(const std::string& what) {
  std::string templ = std::string(getenv("HOME")) + "/sandbox-it-" + std::to_string(getpid()) +
                      "-" + what + "-XXXXXX";
  if (!mkdtemp(templ.data())) throw std::runtime_error("mkdtemp " + templ + ": " + strerror(errno));
  scratch_.push_back(templ);
  return templ;
}

std::vector<std::string> SandboxTest::env() const {
  const char* user = getenv("USER");
  return {"HOME=" + home_, "PATH=/usr/local/bin:/usr/bin:/bin",
          std::string("USER=") + (user ? user : ""), std::string("LOGNAME=") + (user ? user : ""),
          "LANG=C"};
}

SpawnOptions SandboxTest::options() const {
  SpawnOptions o;
  o.env = env();
  o.cwd = home_;
  return o;
}

Result SandboxTest::sandbox(const std::vector<std::string>& args, SpawnOptions opts) {
  std::vector<std::string> argv = {paths().launcher};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, opts);
}

std::vector<std::string> SandboxTest::probe_argv(const std::vector<std::string>& run_opts,
                                                 const std::vector<std::string>& probe_args) const {
  std::vector<std::string> argv = {paths().launcher, "run", "--ro", paths().probe_dir};
  argv.insert(argv.end(), run_opts.begin(), run_opts.end());
  argv.push_back("--");
  argv.push_back(paths().probe);
  argv.insert(argv.end(), probe_args.begin(), probe_args.end());
  return argv;
}

Result SandboxTest::probe(const std::vector<std::string>& run_opts,
                          const std::vector<std::string>& probe_args) {
  return run(probe_argv(run_opts, probe_args), options());
}

Fields SandboxTest::probe_fields(const std::vector<std::string>& run_opts,
                                 const std::vector<std::string>& probe_args) {
  const Result r = probe(run_opts, probe_args);
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  auto f = find_line(r.out, probe_args.at(0));
  EXPECT_TRUE(f.has_value()) << "no '" << probe_args[0] << "' line\n" << r.describe();
  return f.value_or(Fields{});
}

Fields SandboxTest::host_probe_fields(const std::vector<std::string>& probe_args) {
  std::vector<std::string> argv = {paths().probe};
  argv.insert(argv.end(), probe_args.begin(), probe_args.end());
  const Result r = run(argv, options());
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  auto f = find_line(r.out, probe_args.at(0));
  EXPECT_TRUE(f.has_value()) << "no '" << probe_args[0] << "' line\n" << r.describe();
  return f.value_or(Fields{});
}

}  // namespace sandbox::it
