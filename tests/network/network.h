// The network tier: `--net filtered` (issue 6) against a fake internet made by fixture.sh (a
// network namespace behind a veth pair, with dnsmasq authoritative for `.test` and TCP/UDP
// servers; see that script for the names and addresses), with sandboxes started by the
// integration tier's harness (a root caller drops to the user `sandbox-test` first).
//
// What runs inside a sandbox is python3 (the host's, seen read-only) with nettool.py's text
// given to `-c`: each operation prints one "LABEL kind=... ok=0|1 ms=... ..." line.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace sandbox::nt {

inline constexpr const char* kTestResolvConf = "/run/sbt-net/resolv.conf";

// Set up before main() by test_resolver.cc (as root): "" when this process sees the test
// resolv.conf, else why not.
const char* resolver_setup_error();
bool resolver_setup_attempted();  // false when not run as root
std::string nettool_source();

using it::Fields;
using it::Process;
using it::Result;

// A helper process of a sandbox (pasta, sandbox-net) seen in the host's /proc.
struct Helper {
  pid_t pid;
  std::string comm;
  std::string start_time;  // /proc/PID/stat field 22: tells a recycled pid apart
};

class NetworkTest : public it::SandboxTest {
 protected:
  void SetUp() override;
  void TearDown() override;  // stops started_ (last first), then SandboxTest's checks

  // `sandbox run -p default RUN_OPTS -- python3 -c NETTOOL OPS...`
  std::vector<std::string> nettool_argv(const std::vector<std::string>& run_opts,
                                        const std::vector<std::string>& ops) const;
  Result inside(const std::vector<std::string>& run_opts, const std::vector<std::string>& ops,
                int timeout_s = 60);
  // `sandbox run -p default RUN_OPTS -- bash -c SCRIPT`; in SCRIPT, `nt OPS...` runs nettool.
  Result inside_sh(const std::vector<std::string>& run_opts, const std::string& script,
                   int timeout_s = 60);
  // nettool on the host, as the test user: the control that shows the fixture answers.
  Result on_host(const std::vector<std::string>& ops, int timeout_s = 60);

  // A process that runs until TearDown (SIGKILL), started as the test user.
  Process& start(const std::vector<std::string>& argv);
  // A TCP listener on the host (ADDR:0), answering "hello-from-listener\n" to every client;
  // returns its port.
  int host_listener(const std::string& addr);

  // The line LABEL of `r`'s stdout; fails the test (and returns {}) when it is missing.
  Fields line(const Result& r, const std::string& label);
  Fields line(const std::string& out, const std::string& label);

  // pasta/passt and sandbox-net processes descending from this test process.
  std::vector<Helper> helpers() const;
  static bool still_there(const Helper& h);

  std::string net_log_path();  // a fresh path for --net-log, outside the home

  std::vector<std::unique_ptr<Process>> started_;
  std::string profile_ = "default";  // -p of inside(), inside_sh(), nettool_argv()
};

// Matches the refusal lines of --net-log: "<ISO-8601 UTC with ms>Z refused <WHAT>".
bool log_has(const std::string& log, const std::string& what);

}  // namespace sandbox::nt
