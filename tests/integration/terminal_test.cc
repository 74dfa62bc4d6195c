// An interactive shell at a terminal: the launcher sees a tty on stdin/stdout, gives the app
// a pty of its own and relays it. The test plays the user at the other end of a pty pair.
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <memory>

#include "tests/integration/harness.h"

namespace sandbox::it {
namespace {

class TerminalTest : public SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    master_ = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master_ < 0) GTEST_SKIP() << "no pseudo-terminals here: posix_openpt: " << strerror(errno);
    ASSERT_EQ(grantpt(master_), 0);
    ASSERT_EQ(unlockpt(master_), 0);
    slave_ = open(ptsname(master_), O_RDWR | O_NOCTTY | O_CLOEXEC);
    ASSERT_GE(slave_, 0);
    winsize ws{24, 80, 0, 0};
    ioctl(slave_, TIOCSWINSZ, &ws);
  }
  void TearDown() override {
    if (master_ >= 0) close(master_);
    if (slave_ >= 0) close(slave_);
    SandboxTest::TearDown();
  }

  // Reads what the terminal shows until `text` appears; false on timeout.
  bool read_until(const std::string& text, int timeout_ms = 10000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (screen_.find(text, seen_) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0 || !read_some(static_cast<int>(left))) return false;
    }
    seen_ = screen_.find(text, seen_) + text.size();
    return true;
  }
  bool read_some(int timeout_ms) {
    pollfd p{master_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[4096];
    const ssize_t n = read(master_, buf, sizeof(buf));
    if (n <= 0) return false;
    screen_.append(buf, static_cast<size_t>(n));
    return true;
  }
  void type(const std::string& text) {
    ASSERT_EQ(write(master_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }

  std::unique_ptr<Process> start_shell() {
    SpawnOptions o = options();
    o.env.push_back("TERM=dumb");
    o.tty = slave_;
    return std::make_unique<Process>(
        std::vector<std::string>{paths().launcher, "run", "-p", "shell", "--ro",
                                 paths().probe_dir, "--", "bash", "--norc", "-i"},
        o);
  }
  // Types `exit CODE` and collects the launcher's exit, reading the terminal meanwhile so that
  // the launcher never blocks on it.
  Result exit_shell(Process& p, int code) {
    type("exit " + std::to_string(code) + "\n");
    for (int i = 0; i < 200; ++i) {
      read_some(50);
      siginfo_t info{};
      if (waitid(P_PID, static_cast<id_t>(p.pid()), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == p.pid())
        break;
    }
    return p.wait(10);
  }

  int master_ = -1, slave_ = -1;
  std::string screen_;
  size_t seen_ = 0;
};

TEST_F(TerminalTest, InteractiveShell) {
  termios before;
  ASSERT_EQ(tcgetattr(slave_, &before), 0);
  auto p = start_shell();
  ASSERT_TRUE(read_until("]$ ")) << "no prompt; the terminal showed:\n" << screen_;
  type("echo $((6*7))\n");
  EXPECT_TRUE(read_until("\n42\r\n")) << screen_;
  ASSERT_TRUE(read_until("]$ ")) << screen_;

  // The app has a controlling terminal of its own (not ours: a new session, a new pty).
  type(paths().probe + " sid\n");
  ASSERT_TRUE(read_until("ctty=")) << screen_;
  ASSERT_TRUE(read_until("]$ ")) << screen_;
  auto sid = find_line(screen_, "sid");
  ASSERT_TRUE(sid) << screen_;
  EXPECT_EQ(sid->at("ctty"), "yes");
  EXPECT_NE(sid->at("tty0"), "none");
  EXPECT_NE(sid->at("tty0"), ptsname(master_)) << "the app got the caller's own terminal";
  EXPECT_EQ(sid->at("tpgid"), sid->at("pgrp")) << "the app is not in the foreground";

  // tty(1) names the same terminal (whatever path the launcher gives it).
  type("tty\n");
  ASSERT_TRUE(read_until("tty\r\n")) << screen_;
  const size_t from = seen_;
  ASSERT_TRUE(read_until("]$ ")) << screen_;
  const std::string tty_out = screen_.substr(from, screen_.find("\r\n", from) - from);
  EXPECT_EQ(tty_out, sid->at("tty0")) << screen_;

  // Typing into the terminal from inside stays blocked.
  type(paths().probe + " tiocsti-stdin\n");
  ASSERT_TRUE(read_until("tiocsti-stdin isatty=")) << screen_;
  ASSERT_TRUE(read_until("]$ ")) << screen_;
  auto sti = find_line(screen_.substr(screen_.rfind("tiocsti-stdin isatty=")), "tiocsti-stdin");
  ASSERT_TRUE(sti) << screen_;
  EXPECT_EQ(sti->at("isatty"), "1");
  EXPECT_EQ(sti->at("result"), "EPERM");

  const Result r = exit_shell(*p, 5);
  EXPECT_EQ(r.exit_code, 5) << r.describe() << "\nterminal:\n" << screen_;

  // The launcher put our terminal back the way it found it.
  termios after;
  ASSERT_EQ(tcgetattr(slave_, &after), 0);
  EXPECT_EQ(after.c_lflag & (ICANON | ECHO | ISIG), before.c_lflag & (ICANON | ECHO | ISIG));
}

TEST_F(TerminalTest, CtrlCAndWindowSizeReachTheApp) {
  auto p = start_shell();
  ASSERT_TRUE(read_until("]$ ")) << "no prompt; the terminal showed:\n" << screen_;
  type("stty size\n");
  EXPECT_TRUE(read_until("\n24 80\r\n")) << screen_;
  ASSERT_TRUE(read_until("]$ ")) << screen_;

  // Resizing our terminal signals the launcher (SIGWINCH), which passes the size on.
  winsize ws{40, 100, 0, 0};
  ASSERT_EQ(ioctl(slave_, TIOCSWINSZ, &ws), 0);
  usleep(100 * 1000);
  type("stty size\n");
  EXPECT_TRUE(read_until("\n40 100\r\n")) << screen_;
  ASSERT_TRUE(read_until("]$ ")) << screen_;

  // ^C is a byte on the terminal: the app's terminal turns it into SIGINT for the app.
  type(paths().probe + " trap-term 9\n");
  ASSERT_TRUE(read_until("trap-term ready")) << screen_;
  type("\x03");
  EXPECT_TRUE(read_until("got=INT")) << screen_;
  ASSERT_TRUE(read_until("]$ ")) << screen_;
  type("echo rc=$?\n");
  EXPECT_TRUE(read_until("rc=9")) << screen_;
  ASSERT_TRUE(read_until("]$ ")) << screen_;

  const Result r = exit_shell(*p, 0);
  EXPECT_EQ(r.exit_code, 0) << r.describe() << "\nterminal:\n" << screen_;
}

// The caller has a controlling terminal but the app's stdio is not it: the app runs in a
// new session, with no way to open (or inject into) the caller's terminal.
TEST_F(TerminalTest, NoWayBackToTheCallersTerminal) {
  SpawnOptions o = options();
  o.ctty = slave_;
  // Control: a process started this way on the host does have the terminal.
  const Result host = run({paths().probe, "sid"}, o);
  auto hf = find_line(host.out, "sid");
  ASSERT_TRUE(hf) << host.describe();
  ASSERT_EQ(hf->at("ctty"), "yes");

  const Result r = run(probe_argv({}, {"sid"}), o);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  auto f = find_line(r.out, "sid");
  ASSERT_TRUE(f) << r.describe();
  EXPECT_NE(f->at("ctty"), "yes") << "the app can open the caller's terminal";
  EXPECT_EQ(f->at("sid"), f->at("pid")) << "the app is not in a session of its own";
}

TEST_F(TerminalTest, ShellProfileRunsOneCommand) {
  SpawnOptions o = options();
  o.env.push_back("TERM=dumb");
  o.tty = slave_;
  Process p(std::vector<std::string>{paths().launcher, "shell", "-c", "echo $((6*7)); exit 7"}, o);
  EXPECT_TRUE(read_until("42")) << screen_;
  while (read_some(200)) {
  }
  const Result r = p.wait(10);
  EXPECT_EQ(r.exit_code, 7) << r.describe() << "\nterminal:\n" << screen_;
}

}  // namespace
}  // namespace sandbox::it
