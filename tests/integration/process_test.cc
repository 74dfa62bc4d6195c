// Processes: the pid namespace, exit statuses, signals, stdio, inherited fds, the
// environment and hostname, and what is left behind after a run.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "tests/integration/harness.h"

namespace sandbox::it {
namespace {

class ProcessTest : public SandboxTest {
 protected:
  // What `sandbox ps` lists, without its header ("" when nothing runs).
  std::string running_instances() {
    const Result r = run({paths().launcher, "ps"}, options());
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    std::string out;
    for (const auto& line : split(r.out, '\n'))
      if (!line.empty() && line.rfind("ID ", 0) != 0) out += line + "\n";
    return out;
  }
};

TEST_F(ProcessTest, HostProcessesAreInvisible) {
  const std::string marker = unique_marker("host-sleep");
  Process host(std::vector<std::string>{paths().probe, "sleep", "60", marker}, options());
  ASSERT_TRUE(host.wait_for_stdout("sleep ready", 10000));
  // The marker goes in as two words, so that the launcher's own argv (which the sandbox's
  // pid 1, a fork of it, shares) does not contain it.
  const std::string half1 = marker.substr(0, marker.size() / 2), half2 = marker.substr(marker.size() / 2);
  EXPECT_EQ(host_probe_fields({"find-cmdline", half1, half2})["found"], "1");
  EXPECT_EQ(probe_fields({}, {"find-cmdline", half1, half2})["found"], "0");
  const std::vector<std::string> pids = split(probe_fields({}, {"pids"})["list"], ',');
  EXPECT_GE(pids.size(), 1u);
  EXPECT_LE(pids.size(), 3u) << "more processes visible than the sandbox's own";
  kill(host.pid(), SIGKILL);
  host.wait();
}

// ---- Exit statuses ----

// Started with stdin and stdout closed (as CI runners and daemons may), the app gets
// /dev/null there, never one of the launcher's own fds.
TEST_F(ProcessTest, ClosedStdioBecomesDevNull) {
  SpawnOptions o = options();
  o.in_child = [] {
    close(0);
    close(1);
  };
  const std::string out = in_home("fds.txt");
  const Result r = sandbox({"run", "--", "/bin/sh", "-c",
                            "a=$(readlink /proc/$$/fd/0); b=$(readlink /proc/$$/fd/1); echo \"$a $b\" > " + out},
                           o);
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  // The home is an overlay: the file is in the app's layer.
  EXPECT_EQ(read_file(layer() + "/upper/fds.txt").value_or("(missing)"), "/dev/null /dev/null\n");
}

TEST_F(ProcessTest, ExitCodePassesThrough) {
  EXPECT_EQ(probe({}, {"exit", "0"}).exit_code, 0);
  EXPECT_EQ(probe({}, {"exit", "3"}).exit_code, 3);
  EXPECT_EQ(probe({}, {"exit", "124"}).exit_code, 124);
}

TEST_F(ProcessTest, KilledBySignalIs128PlusN) {
  const Result term = probe({}, {"kill-self", std::to_string(SIGTERM)});
  EXPECT_EQ(term.exit_code, 128 + SIGTERM) << term.describe();
  EXPECT_EQ(term.term_signal, 0) << "the launcher itself died by the signal";
  const Result kill9 = probe({}, {"kill-self", std::to_string(SIGKILL)});
  EXPECT_EQ(kill9.exit_code, 128 + SIGKILL) << kill9.describe();
}

TEST_F(ProcessTest, CommandNotFoundIs127) {
  const std::string name = "no-such-command-" + unique_marker("nf");
  const Result r = sandbox({"run", "--", name});
  EXPECT_EQ(r.exit_code, 127) << r.describe();
  EXPECT_NE(r.err.find(name), std::string::npos) << r.describe();
  EXPECT_EQ(split(r.err, '\n').size(), 2u) << "not one line (plus its newline):\n" << r.describe();
  EXPECT_EQ(r.out, "");
}

TEST_F(ProcessTest, NonExecutableFileIs126) {
  write_file(in_home("script.sh"), "#!/bin/sh\necho should-not-run\n", 0644);
  const Result r = sandbox({"run", "--", in_home("script.sh")});
  EXPECT_EQ(r.exit_code, 126) << r.describe();
  EXPECT_NE(r.err.find(in_home("script.sh")), std::string::npos) << r.describe();
  EXPECT_EQ(r.out.find("should-not-run"), std::string::npos);
}

TEST_F(ProcessTest, MalformedProfileIs125WithFileLineColumn) {
  const std::string profile = in_home("broken.yaml");
  write_file(profile, "version: 1\nhome:\n  bogus: overlay\n");
  const Result r = probe({"-p", profile}, {"exit", "0"});
  EXPECT_EQ(r.exit_code, 125) << r.describe();
  EXPECT_NE(r.err.find(profile + ":3:3"), std::string::npos) << r.describe();
  EXPECT_NE(r.err.find("bogus"), std::string::npos) << r.describe();
}

TEST_F(ProcessTest, UnknownAppRunsUnderDefaultAndSaysSo) {
  // `sandbox APP` with no profile named APP: APP runs under `default`, with a layer of its own.
  const Result r = sandbox({"true"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.err.find("no profile named 'true'"), std::string::npos) << r.describe();
  EXPECT_NE(r.err.find("default"), std::string::npos) << r.describe();
  EXPECT_TRUE(exists(layer("true") + "/upper")) << "no layer named after the app";

  const Result h = sandbox({"--ro", paths().probe_dir, paths().probe, "hostname"});
  EXPECT_EQ(h.exit_code, 0) << h.describe();
  auto f = find_line(h.out, "hostname");
  ASSERT_TRUE(f) << h.describe();
  EXPECT_EQ(f->at("name"), "default");
  EXPECT_NE(h.err.find("running it under profile 'default'"), std::string::npos) << h.describe();
}

// ---- Signals ----

class SignalTest : public SandboxTest, public ::testing::WithParamInterface<int> {};

TEST_P(SignalTest, ReachesTheApp) {
  const int sig = GetParam();
  Process p(probe_argv({}, {"trap-term", "42"}), options());
  ASSERT_TRUE(p.wait_for_stdout("trap-term ready", 10000)) << p.wait(1).describe();
  ASSERT_EQ(kill(p.pid(), sig), 0);
  const Result r = p.wait();
  EXPECT_EQ(r.exit_code, 42) << r.describe();
  EXPECT_NE(r.out.find(std::string("got=") + sigabbrev_np(sig)), std::string::npos) << r.describe();
}

INSTANTIATE_TEST_SUITE_P(Forwarded, SignalTest, ::testing::Values(SIGTERM, SIGINT, SIGHUP),
                         [](const auto& p) { return std::string(sigabbrev_np(p.param)); });

TEST_F(ProcessTest, SigkillOfTheLauncherKillsTheApp) {
  const std::string marker = unique_marker("orphan");
  Process p(probe_argv({}, {"sleep", "1000", marker}), options());
  ASSERT_TRUE(p.wait_for_stdout("sleep ready", 10000)) << p.wait(1).describe();
  // The launcher, its pid 1 (a fork of it) and the app all carry the marker in argv.
  std::vector<pid_t> found = find_processes(marker);
  EXPECT_GE(found.size(), 2u);
  ASSERT_EQ(kill(p.pid(), SIGKILL), 0);
  const Result r = p.wait();
  EXPECT_EQ(r.term_signal, SIGKILL);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!(found = find_processes(marker)).empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(found.empty()) << found.size() << " sandbox processes outlived the launcher by 5 s";
  EXPECT_EQ(running_instances(), "") << "`sandbox ps` still lists the killed sandbox";
}

TEST_F(ProcessTest, BackgroundProcessesDieWithTheApp) {
  const std::string marker = unique_marker("bg");
  // The shell leaves a child running and exits: the sandbox ends with the app.
  const Result r = sandbox({"run", "--ro", paths().probe_dir, "--", "sh", "-c",
                            paths().probe + " sleep 1000 " + marker + " >/dev/null & exit 3"});
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::vector<pid_t> found;
  while (!(found = find_processes(marker)).empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(found.empty()) << "a background process outlived the sandbox";
}

// ---- stdio and fds ----

TEST_F(ProcessTest, StdinAndStdoutPassThrough) {
  std::string big;
  for (int i = 0; i < 20000; ++i) big += "line " + std::to_string(i) + "\n";
  SpawnOptions o = options();
  o.stdin_data = big;
  const Result r = sandbox({"run", "--", "cat"}, o);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.size(), big.size());
  EXPECT_TRUE(r.out == big) << "stdout differs from what went in";
  EXPECT_EQ(r.err, "");
}

TEST_F(ProcessTest, StderrIsSeparate) {
  const Result r = sandbox({"run", "--", "sh", "-c", "echo to-out; echo to-err >&2; exit 4"});
  EXPECT_EQ(r.exit_code, 4) << r.describe();
  EXPECT_EQ(r.out, "to-out\n");
  EXPECT_EQ(r.err, "to-err\n");
}

TEST_F(ProcessTest, InheritedFdsDoNotReachTheApp) {
  SpawnOptions o = options();
  o.in_child = [] {
    const int fd = open("/dev/null", O_RDONLY);  // no O_CLOEXEC: inherited across execve
    dup2(fd, 7);
  };
  // Control: a program started the same way on the host has fd 7.
  Result host = run({paths().probe, "fds"}, o);
  auto hf = find_line(host.out, "fds");
  ASSERT_TRUE(hf) << host.describe();
  EXPECT_NE(("," + hf->at("list") + ",").find(",7,"), std::string::npos) << hf->at("list");

  const Result r = run(probe_argv({}, {"fds"}), o);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  auto f = find_line(r.out, "fds");
  ASSERT_TRUE(f) << r.describe();
  // 0, 1, 2 and the directory listing /proc/self/fd.
  EXPECT_EQ(f->at("list"), "0,1,2,3");
}

// ---- Environment and hostname ----

TEST_F(ProcessTest, HostnameIsTheProfileName) {
  EXPECT_EQ(probe_fields({}, {"hostname"})["name"], "default");
  EXPECT_EQ(probe_fields({"-p", "strict"}, {"hostname"})["name"], "strict");
  EXPECT_EQ(probe_fields({"-p", "shell"}, {"hostname"})["name"], "shell");
}

TEST_F(ProcessTest, EnvironmentIsFiltered) {
  SpawnOptions o = options();
  o.env.push_back("SECRET_TOKEN=hunter2");
  auto field = [&](const std::vector<std::string>& run_opts, const std::string& name) {
    const Result r = run(probe_argv(run_opts, {"env", name}), o);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    return find_line(r.out, "env").value_or(Fields{});
  };
  EXPECT_EQ(field({}, "SECRET_TOKEN")["set"], "0") << "SECRET_TOKEN leaked into the sandbox";
  Fields foo = field({"--env", "FOO=bar"}, "FOO");
  EXPECT_EQ(foo["set"], "1");
  EXPECT_EQ(foo["value"], "bar");
  Fields passed = field({"--env", "SECRET_TOKEN"}, "SECRET_TOKEN");
  EXPECT_EQ(passed["value"], "hunter2") << "--env NAME does not pass NAME through";
  EXPECT_EQ(unescape(field({}, "HOME")["value"]), home_);
  EXPECT_EQ(field({}, "USER")["value"], getenv("USER"));
  // The app starts in the directory it was started from when that is visible.
  EXPECT_EQ(probe_fields({}, {"cwd"})["path"], home_);
}

// ---- Cleanup ----

std::string mountinfo() { return read_file("/proc/self/mountinfo").value_or("?"); }

TEST_F(ProcessTest, FailedRunLeavesNothingBehind) {
  const std::string before = mountinfo();
  const std::string profile = in_home("missing-rw.yaml");
  write_file(profile, "version: 1\nextends: default\nfilesystem:\n  rw: [~/not-there]\n");
  const Result r = probe({"-p", profile}, {"sleep", "1000"});
  EXPECT_EQ(r.exit_code, 125) << r.describe();
  EXPECT_NE(r.err.find(in_home("not-there")), std::string::npos) << r.describe();
  EXPECT_NE(r.err.find(profile + ":4:"), std::string::npos) << "no file:line for the entry\n"
                                                            << r.describe();
  EXPECT_EQ(r.out, "") << "the app ran although the setup failed";
  EXPECT_EQ(mountinfo(), before);
  // TearDown checks that no process is left (main() made us their subreaper).
  EXPECT_EQ(running_instances(), "") << "a failed run left an instance record";
}

TEST_F(ProcessTest, FailedExecLeavesNothingBehind) {
  const std::string before = mountinfo();
  const Result r = sandbox({"run", "--", "/nonexistent/cmd"});
  EXPECT_EQ(r.exit_code, 127) << r.describe();
  EXPECT_EQ(mountinfo(), before);
}

}  // namespace
}  // namespace sandbox::it
