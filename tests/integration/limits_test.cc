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

TEST_F(LimitsTest, BadLimitValuesAreUsageErrors) {
  EXPECT_EQ(sandbox({"run", "--memory", "lots", "--", "/bin/true"}).exit_code, 125);
  EXPECT_EQ(sandbox({"run", "--cpu", "-1", "--", "/bin/true"}).exit_code, 125);
  EXPECT_EQ(sandbox({"run", "--timeout", "x", "--", "/bin/true"}).exit_code, 125);
}

}  // namespace
}  // namespace sandbox::it
