#include "launcher/cgroup.h"

#include <gtest/gtest.h>

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
