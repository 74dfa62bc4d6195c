// The `ci` profile around a real build: the fixture project (tests/fixtures/ci-project, a C
// program with a Makefile) builds and passes its tests inside `sandbox run -p ci`, with its
// artifacts in the workspace; and each hostile build step (its hostile-* targets) fails,
// checked from outside: the planted secrets stay unread, the real ~/.bashrc unchanged, nothing
// written outside the workspace, no connection reaches the host's listener, no daemon
// survives the step, the fork bomb stops at the limit, the timeout ends the step.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tests/system/system.h"

namespace sandbox::it {
namespace {

constexpr const char* kSshKey = "-----BEGIN OPENSSH PRIVATE KEY----- ci-test-secret-ssh-9f3a";
constexpr const char* kAwsKey = "aws_secret_access_key = ci-test-secret-aws-77c1";
constexpr const char* kBashrc = "# the real bashrc\nalias ll='ls -l'\n";

// A TCP listener of the test user's on the host; accepted() says whether anything connected.
class Listener {
 public:
  explicit Listener(const char* address) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, address, &a.sin_addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd_, 8) != 0) {
      close(fd_);
      fd_ = -1;
      return;
    }
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Listener() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  int port() const { return port_; }
  bool accepted() const {
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, 0) > 0;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// The host's default IPv4 gateway, "" when there is none (/proc/net/route is little-endian hex).
std::string default_gateway() {
  std::ifstream in("/proc/net/route");
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    char iface[64];
    unsigned dest = 0, gw = 0;
    if (std::sscanf(line.c_str(), "%63s %x %x", iface, &dest, &gw) == 3 && dest == 0 && gw != 0) {
      in_addr a{};
      a.s_addr = gw;
      return inet_ntoa(a);
    }
  }
  return "";
}

class CiTest : public SystemTest {
 protected:
  void SetUp() override {
    SystemTest::SetUp();
    if (IsSkipped()) return;
    SYSTEM_REQUIRE({"make", "make"}, {"cc", "gcc"}, {"python3", "python3"});
    if (paths().fixtures.empty()) GTEST_SKIP() << "built without tests/fixtures";
    // Secrets and a shell rc in the caller's real home, as on a CI runner.
    make_dirs(in_home(".ssh"), 0700);
    write_file(in_home(".ssh/id_ed25519"), kSshKey, 0600);
    make_dirs(in_home(".aws"), 0700);
    write_file(in_home(".aws/credentials"), std::string("[default]\n") + kAwsKey + "\n", 0600);
    write_file(in_home(".bashrc"), kBashrc);
    // The workspace: a fresh copy of the fixture project, outside the home.
    workspace_ = outside_dir("workspace") + "/project";
    std::error_code ec;
    std::filesystem::copy(paths().fixtures + "/ci-project", workspace_, std::filesystem::copy_options::recursive, ec);
    ASSERT_FALSE(ec) << "copy the fixture project: " << ec.message();
  }

  // `sandbox run -p ci [EXTRA...] -- make -s TARGET`, in the workspace, with no stdin.
  Result ci(const std::string& target, const std::vector<std::string>& extra = {}, int timeout_s = 120) {
    std::vector<std::string> args = {"run", "-p", "ci", "--json-status", status_path()};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--", "make", "-s", target});
    return run_in_workspace(args, timeout_s);
  }

  Result run_in_workspace(const std::vector<std::string>& args, int timeout_s) {
    std::vector<std::string> argv = {paths().launcher};
    argv.insert(argv.end(), args.begin(), args.end());
    SpawnOptions o = options();
    o.cwd = workspace_;
    return run(argv, o, timeout_s);
  }

  std::string status_path() const { return workspace_ + "/../status.json"; }
  std::string status() const { return read_file(status_path()).value_or(""); }

  void expect_secrets_untouched() {
    EXPECT_EQ(read_file(in_home(".ssh/id_ed25519")).value_or(""), kSshKey);
    EXPECT_EQ(read_file(in_home(".bashrc")).value_or(""), kBashrc);
  }

  std::string workspace_;
};

TEST_F(CiTest, TheBuildAndItsTestsPassAndTheArtifactsAreInTheWorkspace) {
  const Result r = ci("test");
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("tests passed"), std::string::npos) << r.describe();
  // The artifact works on the host.
  ASSERT_TRUE(exists(workspace_ + "/hello"));
  const Result hello = run({workspace_ + "/hello", "outside"}, options());
  EXPECT_EQ(hello.out.rfind("hello, outside (checksum ", 0), 0u) << hello.describe();
  EXPECT_EQ(read_file(workspace_ + "/test-output.txt").value_or(""), "hello, ci (checksum 3b67f367)\n");
  // The status record says how it went.
  const std::string s = status();
  EXPECT_NE(s.find("\"exit_code\": 0,"), std::string::npos) << s;
  EXPECT_NE(s.find("\"profile\": \"ci\""), std::string::npos) << s;
  EXPECT_NE(s.find("\"writable_paths\": [\"" + workspace_ + "\"]"), std::string::npos) << s;
  EXPECT_NE(s.find("\"written_outside_workspace\": []"), std::string::npos) << s;
  EXPECT_NE(s.find("\"home_mode\": \"tmpfs\""), std::string::npos) << s;
  // Nothing of the build landed in the real home.
  EXPECT_FALSE(exists(in_home("hello")));
  expect_secrets_untouched();
}

TEST_F(CiTest, ReadingTheRunnersSecretsFails) {
  for (const char* step : {"hostile-read-ssh", "hostile-read-aws"}) {
    const Result r = ci(step);
    EXPECT_NE(r.exit_code, 0) << step << ": " << r.describe();
    EXPECT_EQ(r.out.find("ci-test-secret"), std::string::npos) << step << ": " << r.describe();
    EXPECT_EQ(r.err.find("ci-test-secret"), std::string::npos) << step << ": " << r.describe();
  }
  expect_secrets_untouched();
}

TEST_F(CiTest, WritingBashrcChangesNothingOutside) {
  const Result r = ci("hostile-write-bashrc");
  EXPECT_EQ(r.exit_code, 0) << "the write lands in the throwaway home: " << r.describe();
  EXPECT_EQ(read_file(in_home(".bashrc")).value_or(""), kBashrc);
}

TEST_F(CiTest, WritingOutsideTheWorkspaceLeavesNothingBehind) {
  const std::string parent = workspace_.substr(0, workspace_.rfind('/'));
  const Result r = ci("hostile-write-outside", {"--env", "REAL_HOME=" + home_});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_FALSE(exists(parent + "/planted-next-to-workspace"));
  EXPECT_FALSE(exists("/var/tmp/planted-by-ci-step"));
  EXPECT_FALSE(exists("/tmp/planted-by-ci-step"));
  EXPECT_FALSE(exists(in_home("planted-by-ci-step")));
}

TEST_F(CiTest, ReachingHostsThatAreNotAllowedFails) {
  SYSTEM_REQUIRE({"pasta", "passt"});
  Listener local("127.0.0.1");
  ASSERT_TRUE(local.ok());
  const std::string log = workspace_ + "/../denied.log";
  // The host's loopback: inside, 127.0.0.1 is the sandbox's own.
  Result r = ci("hostile-network", {"--allow", "registry.invalid:443", "--net-log", log, "--env",
                                     "TARGET_HOST=127.0.0.1", "--env", "TARGET_PORT=" + std::to_string(local.port())});
  EXPECT_NE(r.exit_code, 0) << r.describe();
  EXPECT_FALSE(local.accepted()) << "the step reached the host's loopback";
  // An address no rule allows: refused by the filter, and logged.
  const std::string gateway = default_gateway();
  if (!gateway.empty()) {
    r = ci("hostile-network", {"--allow", "registry.invalid:443", "--net-log", log, "--env",
                               "TARGET_HOST=" + gateway, "--env", "TARGET_PORT=47999"});
    EXPECT_NE(r.exit_code, 0) << r.describe();
    EXPECT_NE(read_file(log).value_or("").find("refused tcp " + gateway + ":47999"), std::string::npos)
        << read_file(log).value_or("(no log)");
    EXPECT_NE(status().find("\"network_denials\": 1"), std::string::npos) << status();
  }
  // A name no rule allows does not even resolve.
  r = ci("hostile-network", {"--allow", "registry.invalid:443", "--net-log", log, "--env",
                             "TARGET_HOST=exfiltrate.example.com", "--env", "TARGET_PORT=443"});
  EXPECT_NE(r.exit_code, 0) << r.describe();
  EXPECT_NE(read_file(log).value_or("").find("refused dns exfiltrate.example.com"), std::string::npos)
      << read_file(log).value_or("(no log)");
  // Without --allow there is no network at all.
  r = ci("hostile-network", {"--env", "TARGET_HOST=127.0.0.1", "--env", "TARGET_PORT=" + std::to_string(local.port())});
  EXPECT_NE(r.exit_code, 0) << r.describe();
  EXPECT_FALSE(local.accepted());
}

TEST_F(CiTest, ADaemonDoesNotOutliveTheStep) {
  const std::string marker = unique_marker("ci-daemon");
  const Result r = ci("hostile-daemon", {"--env", "MARKER=" + marker});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  // The launcher returns once pid 1 is gone; the kernel has killed the rest by then, but give
  // the process table a moment to catch up.
  for (int i = 0; i < 50 && !find_processes(marker).empty(); ++i) usleep(20000);
  EXPECT_TRUE(find_processes(marker).empty()) << "a process of the step is still running";
}

TEST_F(CiTest, AForkBombStopsAtTheProcessLimit) {
  const auto t0 = std::chrono::steady_clock::now();
  const Result r = ci("hostile-fork-bomb", {"--pids", "64"}, 120);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(r.out.find("fork failed after"), std::string::npos) << r.describe();
  EXPECT_LT(s, 60) << r.describe();
  // The host still forks for us.
  EXPECT_EQ(run({"/bin/true"}, options()).exit_code, 0);
}

TEST_F(CiTest, TheTimeoutEndsTheStep) {
  const auto t0 = std::chrono::steady_clock::now();
  const Result r = ci("hostile-timeout", {"--timeout", "2"});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.exit_code, 124) << r.describe();
  EXPECT_LT(s, 15) << r.describe();
  const std::string st = status();
  EXPECT_NE(st.find("\"timed_out\": true"), std::string::npos) << st;
  EXPECT_NE(st.find("\"exit_code\": 124"), std::string::npos) << st;
}

TEST_F(CiTest, TokensStayOutsideUnlessNamed) {
  SpawnOptions o = options();
  o.cwd = workspace_;
  o.env.push_back("GITHUB_TOKEN=ghp_ci_test_token");
  o.env.push_back("CI=true");
  Result r = run({paths().launcher, "run", "-p", "ci", "--", "sh", "-c", "echo CI=$CI TOKEN=$GITHUB_TOKEN"}, o);
  EXPECT_EQ(r.out, "CI=true TOKEN=\n") << r.describe();
  r = run({paths().launcher, "run", "-p", "ci", "--env", "GITHUB_TOKEN", "--", "sh", "-c", "echo TOKEN=$GITHUB_TOKEN"}, o);
  EXPECT_EQ(r.out, "TOKEN=ghp_ci_test_token\n") << r.describe();
}

}  // namespace
}  // namespace sandbox::it
