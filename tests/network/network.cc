#include "tests/network/network.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <set>
#include <sstream>

namespace sandbox::nt {

namespace {

bool executable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

// Fields of /proc/PID/stat after the command: [0] state, [1] ppid, ... [19] starttime.
std::vector<std::string> stat_fields(pid_t pid) {
  const auto stat = it::read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return {};
  const size_t paren = stat->rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat->size()) return {};
  std::istringstream rest(stat->substr(paren + 2));
  std::vector<std::string> out;
  for (std::string f; rest >> f;) out.push_back(f);
  return out;
}

std::string comm_of(pid_t pid) {
  auto c = it::read_file("/proc/" + std::to_string(pid) + "/comm");
  if (!c) return "";
  while (!c->empty() && c->back() == '\n') c->pop_back();
  return *c;
}

bool descends_from(pid_t pid, pid_t ancestor) {
  for (int depth = 0; depth < 64 && pid > 1; ++depth) {
    const auto f = stat_fields(pid);
    if (f.size() < 2) return false;
    pid = static_cast<pid_t>(std::stol(f[1]));
    if (pid == ancestor) return true;
  }
  return false;
}

}  // namespace

void NetworkTest::SetUp() {
  it::SandboxTest::SetUp();
  if (IsSkipped() || HasFatalFailure()) return;
  if (!resolver_setup_attempted())
    GTEST_SKIP() << "the network tests run as root (CTest's fixture network_fixture_up makes the "
                    "test network; the tests then drop to the user sandbox-test)";
  ASSERT_STREQ(resolver_setup_error(), "") << "the test resolv.conf could not be put in place";
  ASSERT_FALSE(nettool_source().empty()) << "cannot read " SANDBOX_NT_SOURCE_DIR "/nettool.py";
  if (!executable("/usr/bin/pasta") && !executable("/usr/bin/passt"))
    GTEST_SKIP() << "not installed: pasta (apt-get install passt)";
  if (!executable("/usr/bin/python3")) GTEST_SKIP() << "not installed: /usr/bin/python3";
  // The fixture answers, through the test resolv.conf this process sees.
  const Result r = on_host({"fixture,tcp,allowed.test,80,4"});
  const Fields f = line(r, "fixture");
  ASSERT_EQ(f.count("data") ? f.at("data") : "", "hello_203.0.113.10_80")
      << "the test network does not answer from the host (as root: " SANDBOX_NT_SOURCE_DIR
         "/fixture.sh up)\n"
      << r.describe();
}

void NetworkTest::TearDown() {
  // SIGTERM first: a launcher ends its sandbox (and its helpers) then; what a SIGKILLed
  // launcher leaves is PastaAndResolverExitWhenTheLauncherIsKilled's business.
  for (auto it = started_.rbegin(); it != started_.rend(); ++it) {
    if ((*it)->running()) kill((*it)->pid(), SIGTERM);
    (*it)->wait(10);  // SIGKILL after that
  }
  started_.clear();
  it::SandboxTest::TearDown();
}

std::vector<std::string> NetworkTest::nettool_argv(const std::vector<std::string>& run_opts,
                                                   const std::vector<std::string>& ops) const {
  std::vector<std::string> argv = {it::paths().launcher, "run", "-p", profile_};
  argv.insert(argv.end(), run_opts.begin(), run_opts.end());
  argv.insert(argv.end(), {"--", "/usr/bin/python3", "-c", nettool_source()});
  argv.insert(argv.end(), ops.begin(), ops.end());
  return argv;
}

Result NetworkTest::inside(const std::vector<std::string>& run_opts,
                           const std::vector<std::string>& ops, int timeout_s) {
  return it::run(nettool_argv(run_opts, ops), options(), timeout_s);
}

Result NetworkTest::inside_sh(const std::vector<std::string>& run_opts, const std::string& script,
                              int timeout_s) {
  std::vector<std::string> argv = {it::paths().launcher, "run", "-p", profile_};
  argv.insert(argv.end(), run_opts.begin(), run_opts.end());
  argv.insert(argv.end(), {"--", "/bin/bash", "-c",
                           "NETTOOL=$1; shift; nt() { /usr/bin/python3 -c \"$NETTOOL\" \"$@\"; }\n" + script,
                           "bash", nettool_source()});
  return it::run(argv, options(), timeout_s);
}

Result NetworkTest::on_host(const std::vector<std::string>& ops, int timeout_s) {
  std::vector<std::string> argv = {"/usr/bin/python3", "-c", nettool_source()};
  argv.insert(argv.end(), ops.begin(), ops.end());
  return it::run(argv, options(), timeout_s);
}

Process& NetworkTest::start(const std::vector<std::string>& argv) {
  started_.push_back(std::make_unique<Process>(argv, options()));
  return *started_.back();
}

int NetworkTest::host_listener(const std::string& addr) {
  Process& p = start({"/usr/bin/python3", "-c", nettool_source(), "hl,listen," + addr + ",0,100000"});
  if (!p.wait_for_stdout("\n", 10000)) {
    ADD_FAILURE() << "the host listener on " << addr << " did not start: " << p.out_so_far();
    return -1;
  }
  const auto f = it::find_line(p.out_so_far(), "hl");
  if (!f || !f->count("port")) {
    ADD_FAILURE() << "no port from the host listener: " << p.out_so_far();
    return -1;
  }
  return std::stoi(f->at("port"));
}

Fields NetworkTest::line(const Result& r, const std::string& label) {
  auto f = it::find_line(r.out, label);
  EXPECT_TRUE(f.has_value()) << "no line '" << label << "'\n" << r.describe();
  return f.value_or(Fields{});
}

Fields NetworkTest::line(const std::string& out, const std::string& label) {
  auto f = it::find_line(out, label);
  EXPECT_TRUE(f.has_value()) << "no line '" << label << "' in:\n" << out;
  return f.value_or(Fields{});
}

std::vector<Helper> NetworkTest::helpers() const {
  static const std::set<std::string> kNames = {"pasta", "passt", "pasta.avx2", "passt.avx2",
                                               "sandbox-net"};
  std::vector<Helper> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    const pid_t pid = static_cast<pid_t>(atol(e->d_name));
    const std::string comm = comm_of(pid);
    if (!kNames.count(comm)) continue;
    struct stat st;
    if (stat(("/proc/" + std::to_string(pid)).c_str(), &st) != 0 || st.st_uid != getuid()) continue;
    if (!descends_from(pid, getpid())) continue;
    const auto f = stat_fields(pid);
    if (f.size() < 20 || f[0] == "Z") continue;
    out.push_back({pid, comm, f[19]});
  }
  closedir(d);
  return out;
}

bool NetworkTest::still_there(const Helper& h) {
  const auto f = stat_fields(h.pid);
  return f.size() >= 20 && f[19] == h.start_time && f[0] != "Z";
}

std::string NetworkTest::net_log_path() { return outside_dir("netlog") + "/net.log"; }

bool log_has(const std::string& log, const std::string& what) {
  static const std::regex kLine(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z refused (.*)$)");
  for (const auto& l : it::split(log, '\n')) {
    std::smatch m;
    if (std::regex_match(l, m, kLine) && m[1] == what) return true;
  }
  return false;
}

}  // namespace sandbox::nt
