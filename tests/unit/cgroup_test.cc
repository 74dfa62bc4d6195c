#include "launcher/cgroup.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

namespace sandbox::launcher {
namespace {

TEST(Cgroup, WritesForEveryLimit) {
  profiles::Limits l;
  l.memory = 512ULL << 20;
  l.cpu = 0.5;
  l.pids = 64;
  l.io_weight = 50;
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"memory.max", "536870912"}, {"memory.swap.max", "0"}, {"cpu.max", "50000 100000"},
      {"pids.max", "64"},          {"io.weight", "default 50"}};
  EXPECT_EQ(cgroup_writes(l), expected);
  EXPECT_EQ(controllers_needed(l), (std::vector<std::string>{"memory", "cpu", "pids", "io"}));
  EXPECT_TRUE(wants_cgroup(l));
}

TEST(Cgroup, CpuQuotaRoundsAndHasAFloor) {
  profiles::Limits l;
  l.cpu = 2.0;
  EXPECT_EQ(cgroup_writes(l), (std::vector<std::pair<std::string, std::string>>{{"cpu.max", "200000 100000"}}));
  l.cpu = 0.001;  // below the kernel's 1 ms minimum quota
  EXPECT_EQ(cgroup_writes(l)[0].second, "1000 100000");
}

TEST(Cgroup, NoLimitsNoCgroup) {
  profiles::Limits l;
  l.timeout = 10;
  l.rlimits["nofile"] = 64;
  EXPECT_FALSE(wants_cgroup(l));
  EXPECT_TRUE(cgroup_writes(l).empty());
}

TEST(Cgroup, PathFromProcCgroup) {
  EXPECT_EQ(cgroup2_path_of("12:memory:/x\n0::/user.slice/user-1000.slice/session-2.scope\n"),
            "/user.slice/user-1000.slice/session-2.scope");
  EXPECT_EQ(cgroup2_path_of("0::/\n"), "/");
  EXPECT_EQ(cgroup2_path_of("3:cpu:/a\n"), "");
}

}  // namespace
}  // namespace sandbox::launcher

#include "launcher/systemd_scope.h"

namespace sandbox::launcher {
namespace {

TEST(SystemdScope, PropertiesForLimits) {
  profiles::Limits l;
  l.memory = 256ULL << 20;
  l.cpu = 1.5;
  l.pids = 100;
  l.io_weight = 10;
  const auto props = scope_properties(l, "sandbox x");
  std::vector<std::string> got;
  for (const auto& p : props)
    got.push_back(p.name + ":" + p.type + ":" + (p.type == 's' ? p.text : std::to_string(p.number)));
  EXPECT_EQ(got, (std::vector<std::string>{"Description:s:sandbox x", "Delegate:b:1",
                                           "CollectMode:s:inactive-or-failed", "MemoryMax:t:268435456",
                                           "MemorySwapMax:t:0", "CPUQuotaPerSecUSec:t:1500000",
                                           "TasksMax:t:100", "IOWeight:t:10"}));
}

TEST(SystemdScope, NoUserManagerIsAReasonNotACrash) {
  // This host runs no systemd; in CI neither. The answer is a reason, never an exception.
  if (getenv("DBUS_SESSION_BUS_ADDRESS") || getenv("XDG_RUNTIME_DIR")) GTEST_SKIP() << "a user bus may exist here";
  profiles::Limits l;
  l.memory = 1 << 30;
  EXPECT_NE(start_scope("sandbox-test-000000.scope", getpid(), l, "test"), "");
}

}  // namespace
}  // namespace sandbox::launcher
