// Running instances: `ps`, `enter`, `stop`, one layer per app (single / multi), and records
// left by a launcher that died.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "tests/integration/harness.h"

namespace sandbox::it {
namespace {

class InstanceTest : public SandboxTest {
 protected:
  // `sandbox ps --json` -> the ids of the running instances of `app`.
  std::vector<std::string> ids_of(const std::string& app) {
    const Result r = sandbox({"ps", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    std::vector<std::string> ids;
    size_t pos = 0;
    while ((pos = r.out.find("\"id\": \"", pos)) != std::string::npos) {
      pos += 7;
      const std::string id = r.out.substr(pos, r.out.find('"', pos) - pos);
      if (id.rfind(app + "-", 0) == 0) ids.push_back(id);
    }
    return ids;
  }

  // Starts `sandbox run --name APP -- probe sleep 60 MARKER` and waits until it runs.
  std::unique_ptr<Process> start_sleeper(const std::string& app, std::vector<std::string> run_opts = {}) {
    run_opts.insert(run_opts.begin(), {"--name", app, "--env", "MARK=from-first"});
    auto p = std::make_unique<Process>(probe_argv(run_opts, {"sleep", "60", unique_marker(app)}), options());
    EXPECT_TRUE(p->wait_for_stdout("sleep ready", 15000)) << p->out_so_far();
    return p;
  }

  std::string runtime_dir() const { return state_dir() + "/.run"; }  // no XDG_RUNTIME_DIR here
};

TEST_F(InstanceTest, PsListsEnterJoinsStopEnds) {
  auto first = start_sleeper("inst");
  const auto ids = ids_of("inst");
  ASSERT_EQ(ids.size(), 1u);
  const Result table = sandbox({"ps"});
  EXPECT_NE(table.out.find(ids[0]), std::string::npos) << table.describe();
  EXPECT_NE(table.out.find("MEMORY"), std::string::npos);

  // enter: the same pid namespace (the sleeper is visible), the same environment, and the
  // same restrictions as the app.
  std::vector<std::string> enter = {"enter", ids[0], "--", paths().probe};
  auto in = [&](std::vector<std::string> probe_args) {
    std::vector<std::string> argv = enter;
    argv.insert(argv.end(), probe_args.begin(), probe_args.end());
    return sandbox(argv);
  };
  const Result pids = in({"pids"});
  ASSERT_EQ(pids.exit_code, 0) << pids.describe();
  EXPECT_GE(split(find_line(pids.out, "pids").value_or(Fields{})["list"], ',').size(), 3u)
      << "pid 1, the sleeper and the entered probe";
  const Result env = in({"env", "MARK"});
  EXPECT_EQ(find_line(env.out, "env").value_or(Fields{})["value"], "from-first") << env.describe();
  const Result caps = in({"caps"});
  auto c = find_line(caps.out, "caps").value_or(Fields{});
  EXPECT_EQ(c["CapEff"], "0000000000000000");
  EXPECT_EQ(c["CapBnd"], "0000000000000000");
  EXPECT_EQ(c["NoNewPrivs"], "1");
  EXPECT_EQ(c["Seccomp"], "2");
  EXPECT_EQ(find_line(in({"mount"}).out, "mount").value_or(Fields{})["result"], "EPERM");
  EXPECT_EQ(in({"exit", "7"}).exit_code, 7);

  // stop: SIGTERM reaches the app; the launcher leaves with its status, the record goes.
  const Result stop = sandbox({"stop", ids[0]});
  EXPECT_EQ(stop.exit_code, 0) << stop.describe();
  const Result end = first->wait(20);
  EXPECT_EQ(end.exit_code, 128 + SIGTERM) << end.describe();
  EXPECT_TRUE(ids_of("inst").empty());
}

TEST_F(InstanceTest, UnknownInstanceIsAnError) {
  const Result r = sandbox({"enter", "nope-123456", "true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("no running sandbox 'nope-123456'"), std::string::npos) << r.describe();
  EXPECT_EQ(sandbox({"stop", "nope-123456"}).exit_code, 125);
}

TEST_F(InstanceTest, SecondRunOfTheSameLayerGetsAThrowawayHome) {
  auto first = start_sleeper("shared");
  const Result second = probe({"--name", "shared"}, {"write", in_home("from-second"), "x"});
  EXPECT_EQ(second.exit_code, 0) << second.describe();
  EXPECT_NE(second.err.find("throwaway"), std::string::npos) << second.describe();
  // Neither the real home nor the persistent layer got the second run's file.
  EXPECT_FALSE(exists(in_home("from-second")));
  EXPECT_FALSE(exists(layer("shared") + "/upper/from-second"));
  first.reset();
}

TEST_F(InstanceTest, SingleInstanceAppRunsInsideTheRunningOne) {
  // `sandbox APP`: APP is the probe itself (app name "sandbox_probe"), so the second launch
  // must land in the first one's pid namespace, where the first probe sleeps.
  const std::string marker = unique_marker("single");
  Process first({paths().launcher, "--ro", paths().probe_dir, paths().probe, "sleep", "60", marker}, options());
  ASSERT_TRUE(first.wait_for_stdout("sleep ready", 15000)) << first.out_so_far();
  const std::string half1 = marker.substr(0, marker.size() / 2), half2 = marker.substr(marker.size() / 2);
  const Result second = sandbox({"--ro", paths().probe_dir, paths().probe, "find-cmdline", half1, half2});
  EXPECT_EQ(second.exit_code, 0) << second.describe();
  EXPECT_NE(second.err.find("already running"), std::string::npos) << second.describe();
  // Found in the first sandbox: the sleeper (and its pid 1, a fork of the first launcher).
  EXPECT_NE(find_line(second.out, "find-cmdline").value_or(Fields{{"found", "0"}})["found"], "0")
      << second.describe();
}

TEST_F(InstanceTest, RecordOfADeadLauncherIsCleaned) {
  // A record whose lock nobody holds: what a launcher killed with SIGKILL leaves behind.
  const std::string dir = runtime_dir() + "/ghost-abcdef";
  make_dirs(dir, 0700);
  write_file(dir + "/record", "id=ghost-abcdef\napp=ghost\nprofile=default\ninit_pid=999999\ninit_start=1\n", 0600);
  write_file(dir + "/lock", "", 0600);
  const Result ps = sandbox({"ps"});
  EXPECT_EQ(ps.exit_code, 0) << ps.describe();
  EXPECT_EQ(ps.out.find("ghost"), std::string::npos) << ps.describe();
  EXPECT_FALSE(exists(dir));
}

TEST_F(InstanceTest, SigkilledLauncherLeavesNoLiveRecord) {
  auto first = start_sleeper("killed");
  ASSERT_EQ(ids_of("killed").size(), 1u);
  kill(first->pid(), SIGKILL);
  first->wait(10);
  // The sandbox dies with its launcher; the record it left is stale and `ps` drops it.
  for (int i = 0; i < 50 && !ids_of("killed").empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(ids_of("killed").empty());
}

}  // namespace
}  // namespace sandbox::it
