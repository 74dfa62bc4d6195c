// Limits on the host: the timeout, rlimits, and what happens where no cgroup v2 subtree is
// delegated (this host: its cgroup v2 hierarchy has no memory/cpu/pids controllers). The
// cgroup limits themselves are tested in a VM (tests/vm).
#include <chrono>

#include "tests/integration/harness.h"

namespace sandbox::it {
namespace {

class LimitsTest : public SandboxTest {};

TEST_F(LimitsTest, TimeoutStopsTheAppWith124) {
  const auto t0 = std::chrono::steady_clock::now();
  const Result r = probe({"--timeout", "1"}, {"sleep", "30"});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.exit_code, 124) << r.describe();
  EXPECT_NE(r.err.find("timeout of 1 s reached"), std::string::npos) << r.describe();
  EXPECT_LT(s, 10.0);
}

TEST_F(LimitsTest, TimeoutKillsAnAppThatIgnoresSigterm) {
  const std::string marker = unique_marker("stubborn");
  const Result r = sandbox({"run", "--timeout", "1", "--", "/bin/sh", "-c", "trap '' TERM; sleep 60; : " + marker});
  EXPECT_EQ(r.exit_code, 124) << r.describe();
  EXPECT_TRUE(find_processes(marker).empty());
}

TEST_F(LimitsTest, RlimitsApply) {
  const std::string profile = in_home("rl.yaml");
  write_file(profile, "version: 1\nextends: default\nlimits:\n  rlimits: {nofile: 77, core: 0}\n");
  const Result r = sandbox({"run", "-p", profile, "--", "/bin/sh", "-c", "ulimit -n; ulimit -c"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out, "77\n0\n");
}

TEST_F(LimitsTest, WithoutDelegationMemoryFallsBackOrIsRefusedWhenRequired) {
  const Result r = sandbox({"run", "--memory", "64M", "--", "/bin/sh", "-c", "ulimit -v"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  if (r.err.find("cgroup limits not applied") == std::string::npos)
    GTEST_SKIP() << "this host delegates a cgroup v2 subtree: the fallback is not taken here";
  EXPECT_EQ(r.out, std::to_string(64 * 1024) + "\n") << "RLIMIT_AS in KiB";
  const std::string profile = in_home("req.yaml");
  write_file(profile, "version: 1\nextends: default\nlimits:\n  memory: 64M\n  required: true\n");
  const Result req = sandbox({"run", "-p", profile, "--", "/bin/true"});
  EXPECT_EQ(req.exit_code, 125) << req.describe();
  EXPECT_NE(req.err.find("limits.required"), std::string::npos) << req.describe();
}

// Without a cgroup, pids falls back to RLIMIT_NPROC, which counts the processes of the
// sandbox's own user namespace: a fork bomb stops there, and the host's processes of the same
// user do not count against it.
TEST_F(LimitsTest, WithoutDelegationPidsFallBackToNproc) {
  const char* bomb =
      "import os, resource, signal, time\n"
      "print(resource.getrlimit(resource.RLIMIT_NPROC)[0])\n"
      "kids = []\n"
      "while len(kids) < 100:\n"
      "    try:\n"
      "        pid = os.fork()\n"
      "    except OSError:\n"
      "        break\n"
      "    if pid == 0:\n"
      "        time.sleep(30)\n"
      "        os._exit(0)\n"
      "    kids.append(pid)\n"
      "print('started', len(kids))\n"
      "for k in kids: os.kill(k, signal.SIGKILL)\n";
  const Result r = sandbox({"run", "--pids", "40", "--", "python3", "-c", bomb});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  if (r.err.find("cgroup limits not applied") == std::string::npos)
    GTEST_SKIP() << "this host delegates a cgroup v2 subtree: the fallback is not taken here";
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "40") << r.describe();
  const size_t at = r.out.find("started ");
  ASSERT_NE(at, std::string::npos) << r.describe();
  const int started = std::stoi(r.out.substr(at + 8));
  EXPECT_GT(started, 20) << r.describe();
  EXPECT_LT(started, 40) << r.describe();
}

TEST_F(LimitsTest, BadLimitValuesAreUsageErrors) {
  EXPECT_EQ(sandbox({"run", "--memory", "lots", "--", "/bin/true"}).exit_code, 125);
  EXPECT_EQ(sandbox({"run", "--cpu", "-1", "--", "/bin/true"}).exit_code, 125);
  EXPECT_EQ(sandbox({"run", "--timeout", "x", "--", "/bin/true"}).exit_code, 125);
}

}  // namespace
}  // namespace sandbox::it
