// The integration tier's harness: where the launcher and the probe are, how to start them,
// and a fixture that gives each test a home of its own.
//
// Run as root, main() (main.cc) first makes the system user `sandbox-test`, copies the
// launcher, its profiles and the probe into a world-readable staging directory (plus a
// setuid-root copy of the probe), then drops to that user for good. Run as anyone else, the
// tests use the build tree directly. Every test starts sandboxes as that unprivileged user and
// asserts from outside where it can (the real file, the real process table, the real port).
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sandbox::it {

struct Paths {
  std::string launcher;      // the sandbox binary
  std::string probe;         // the probe binary
  std::string probe_dir;     // its directory: given to `--ro` so that the probe is visible
  std::string setuid_probe;  // a setuid-root copy, "" when not running as root
  std::string setuid_dir;
  std::string staging;       // the staging directory (root runs), else ""
  std::string fixtures;      // tests/fixtures (a staged copy in root runs), "" when not built in
};

const Paths& paths();

// Called once by main(): the root setup (when root) and the feature check. Returns false and
// prints why when the harness cannot run at all.
bool set_up_process(int argc, char** argv);

// Why sandboxes cannot run here ("" when they can): unprivileged user namespaces, or
// overlayfs in them, do not work for the test user.
const std::string& userns_unavailable_reason();

struct Result {
  int exit_code = -1;   // WEXITSTATUS, or -1
  int term_signal = 0;  // the signal that killed the process, or 0
  bool timed_out = false;
  std::string out, err;
  std::string describe() const;  // for assertion messages
};

struct SpawnOptions {
  std::vector<std::string> env;           // the whole environment
  std::string cwd;                        // "" = inherit
  std::optional<std::string> stdin_data;  // piped in, then closed; nullopt: /dev/null
  int tty = -1;                           // >= 0: new session, this fd as ctty and fds 0, 1, 2
  int ctty = -1;                          // >= 0: new session with this ctty, stdio still piped
  std::function<void()> in_child;         // runs in the child just before execve
};

// A started process with its stdout/stderr read through pipes.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const SpawnOptions& opts);
  ~Process();  // SIGKILLs and reaps the process if it still runs
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !reaped_; }
  // Reads output until stdout contains `text`; false on timeout or exit.
  bool wait_for_stdout(const std::string& text, int timeout_ms);
  // Waits for the exit (SIGKILL after `timeout_s`), collecting everything.
  Result wait(int timeout_s = 30);
  const std::string& out_so_far() const { return result_.out; }

 private:
  bool pump(int timeout_ms);  // one poll round; false once nothing is left to read
  pid_t pid_ = -1;
  bool reaped_ = false;
  int in_ = -1, out_ = -1, err_ = -1;
  std::string stdin_data_;
  size_t stdin_off_ = 0;
  Result result_;
};

Result run(const std::vector<std::string>& argv, const SpawnOptions& opts, int timeout_s = 30);

// "name k=v k=v" lines as the probe prints them.
using Fields = std::map<std::string, std::string>;
std::optional<Fields> find_line(const std::string& out, const std::string& name);
std::vector<std::string> split(const std::string& s, char sep);
std::string unescape(const std::string& s);  // the probe's escaping of `data=`/`value=`

// Files on the host, as the test user.
void write_file(const std::string& path, const std::string& content, mode_t mode = 0644);
std::optional<std::string> read_file(const std::string& path);
bool exists(const std::string& path);  // lstat
void make_dirs(const std::string& path, mode_t mode = 0755);
void remove_tree(const std::string& path);  // also where a layer's work/work is mode 0000
// Removes DIR/PREFIX<pid>... entries whose process is gone (what a killed run left behind).
void remove_stale(const std::string& dir, const std::string& prefix);

// pids of processes whose command line contains `marker`, from the host's /proc.
std::vector<pid_t> find_processes(const std::string& marker);
std::string unique_marker(const std::string& what);

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // The launcher's environment: HOME = home_, PATH, USER, LOGNAME; no XDG_*.
  std::vector<std::string> env() const;
  SpawnOptions options() const;  // env() and cwd = home_

  // `sandbox ARGS...`
  Result sandbox(const std::vector<std::string>& args, SpawnOptions opts);
  Result sandbox(const std::vector<std::string>& args) { return sandbox(args, options()); }
  // `sandbox run --ro PROBE_DIR RUN_OPTS... -- PROBE PROBE_ARGS...`
  std::vector<std::string> probe_argv(const std::vector<std::string>& run_opts,
                                      const std::vector<std::string>& probe_args) const;
  Result probe(const std::vector<std::string>& run_opts, const std::vector<std::string>& probe_args);
  // Runs the probe as above and returns its line named probe_args[0]; fails the test when the
  // run or the line is missing.
  Fields probe_fields(const std::vector<std::string>& run_opts,
                      const std::vector<std::string>& probe_args);
  // Runs the probe directly on the host (a control: shows the probe's method works).
  Fields host_probe_fields(const std::vector<std::string>& probe_args);

  std::string state_dir() const { return home_ + "/.local/share/sandbox"; }
  std::string layer(const std::string& app = "default") const { return state_dir() + "/" + app; }
  std::string in_home(const std::string& rel) const { return home_ + "/" + rel; }

  // A fresh directory of the test user's outside home_, removed after the test.
  std::string outside_dir(const std::string& what);

  std::string home_;  // this test's own home (a real directory, not a symlink)
  std::vector<std::string> scratch_;  // removed by TearDown
};

}  // namespace sandbox::it
