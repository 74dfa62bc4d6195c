// Privileges and the kernel's attack surface: capabilities, no_new_privs, a setuid binary,
// the seccomp policies, and the network namespace. Each syscall check has a control run of
// the probe on the host, showing that the result inside comes from the sandbox.
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/harness.h"

namespace sandbox::it {
namespace {

class SecurityTest : public SandboxTest {};

TEST_F(SecurityTest, NoCapabilitiesAndNoNewPrivs) {
  const Fields caps = probe_fields({}, {"caps"});
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
    EXPECT_EQ(caps.count(set) ? caps.at(set) : "missing", "0000000000000000") << set;
  EXPECT_EQ(caps.at("NoNewPrivs"), "1");
  EXPECT_EQ(caps.at("Seccomp"), "2") << "no seccomp filter";
}

TEST_F(SecurityTest, IdsInsideAreTheCallers) {
  const Fields ids = probe_fields({}, {"ids"});
  const std::string uid = std::to_string(getuid()), gid = std::to_string(getgid());
  EXPECT_EQ(ids.at("ruid"), uid);
  EXPECT_EQ(ids.at("euid"), uid);
  EXPECT_EQ(ids.at("suid"), uid);
  EXPECT_EQ(ids.at("rgid"), gid);
  EXPECT_EQ(ids.at("egid"), gid);
  EXPECT_EQ(ids.at("CapEff"), "0000000000000000");
}

TEST_F(SecurityTest, SetuidRootBinaryGainsNothing) {
  if (paths().setuid_probe.empty())
    GTEST_SKIP() << "needs a setuid-root copy of the probe, which only a root run can make";
  // Control: on the host the copy really runs as root.
  const Fields host = host_probe_fields({"ids"});
  std::vector<std::string> argv = {paths().setuid_probe, "ids"};
  const Result hr = run(argv, options());
  auto hf = find_line(hr.out, "ids");
  ASSERT_TRUE(hf) << hr.describe();
  if (hf->at("euid") != "0")
    GTEST_SKIP() << paths().setuid_dir << " does not honour the setuid bit (nosuid mount?)";
  EXPECT_EQ(host.at("euid"), std::to_string(getuid()));

  const Result r = sandbox({"run", "--ro", paths().setuid_dir, "--", paths().setuid_probe, "ids"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  auto f = find_line(r.out, "ids");
  ASSERT_TRUE(f) << r.describe();
  EXPECT_EQ(f->at("euid"), std::to_string(getuid()));
  EXPECT_EQ(f->at("suid"), std::to_string(getuid()));
  EXPECT_EQ(f->at("CapEff"), "0000000000000000");
}

// ---- seccomp ----

struct SyscallCase {
  const char* probe;      // the probe subcommand
  const char* inside;     // its result inside under `default`
  const char* on_host;    // what the control run on the host must not be ("" = no control)
};

void PrintTo(const SyscallCase& c, std::ostream* os) { *os << c.probe; }

class SeccompTest : public SandboxTest, public ::testing::WithParamInterface<SyscallCase> {};

TEST_P(SeccompTest, DefaultPolicyBlocks) {
  const SyscallCase& c = GetParam();
  if (*c.on_host) {
    const Fields host = host_probe_fields({c.probe});
    if (host.count("result") && host.at("result") == c.on_host)
      GTEST_SKIP() << "the host already answers " << c.on_host << " to `" << c.probe
                   << "`, so the check inside would prove nothing";
  }
  EXPECT_EQ(probe_fields({}, {c.probe})["result"], c.inside) << c.probe;
}

// The host control's "must not be" is the errno the filter answers: the probe's methods are
// chosen so that the kernel itself would answer otherwise (see probe.cc).
INSTANTIATE_TEST_SUITE_P(
    Syscalls, SeccompTest,
    ::testing::Values(SyscallCase{"tiocsti", "EPERM", "EPERM"},
                      SyscallCase{"mount", "EPERM", "EPERM"},
                      SyscallCase{"open_tree", "EPERM", "EPERM"},
                      SyscallCase{"keyctl", "EPERM", "EPERM"},
                      SyscallCase{"unshare-user", "EPERM", "EPERM"},
                      SyscallCase{"clone-newuser", "EPERM", "EPERM"},
                      SyscallCase{"clone3", "ENOSYS", "ENOSYS"},
                      SyscallCase{"ptrace", "EPERM", "EPERM"},
                      // No control: without CAP_SYS_ADMIN the kernel says EPERM as well; the
                      // NestedUserns test below checks it where the kernel would say yes.
                      SyscallCase{"fsopen", "EPERM", ""}),
    [](const auto& p) {
      std::string name = p.param.probe;
      for (char& ch : name)
        if (ch == '-') ch = '_';
      return name;
    });

TEST_F(SecurityTest, TiocstiBlockedInEveryPolicy) {
  for (const char* policy : {"strict", "devel"})
    EXPECT_EQ(probe_fields({"--seccomp", policy}, {"tiocsti"})["result"], "EPERM") << policy;
}

TEST_F(SecurityTest, DevelPolicyAllowsPtrace) {
  EXPECT_EQ(probe_fields({"--seccomp", "devel"}, {"ptrace"})["result"], "ok");
  EXPECT_EQ(probe_fields({"--seccomp", "default"}, {"ptrace"})["result"], "EPERM");
}

TEST_F(SecurityTest, NestedUsernsAllowsUsernsButNotTheMountApi) {
  const Fields host = host_probe_fields({"nested-mount"});
  if (host.count("fsopen") == 0 || host.at("fsopen") != "ok" || host.at("mount") != "ok")
    GTEST_SKIP() << "the mount API does not work in a user namespace on this host";

  const std::string profile = in_home("nested.yaml");
  write_file(profile, "version: 1\nextends: default\nsecurity:\n  nested_userns: true\n");
  EXPECT_EQ(probe_fields({"-p", profile}, {"unshare-user"})["result"], "ok");
  EXPECT_EQ(probe_fields({"-p", profile}, {"clone-newuser"})["result"], "ok");
  const Fields inside = probe_fields({"-p", profile}, {"nested-mount"});
  EXPECT_EQ(inside.count("unshare") ? inside.at("unshare") : "", "ok");
  for (const char* call : {"fsopen", "mount", "open_tree_clone"})
    EXPECT_EQ(inside.count(call) ? inside.at(call) : "missing", "EPERM") << call;
}

// ---- Network ----

std::vector<std::string> host_interfaces() {
  std::vector<std::string> names;
  if (struct if_nameindex* list = if_nameindex()) {
    for (struct if_nameindex* i = list; i->if_index != 0; ++i) names.push_back(i->if_name);
    if_freenameindex(list);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// A listening socket on the host's 127.0.0.1.
struct HostListener {
  int fd = -1;
  int port = 0;
  HostListener() {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 && listen(fd, 4) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
  }
  ~HostListener() { close(fd); }
  bool was_reached() {
    const int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return false;
    close(c);
    return true;
  }
};

TEST_F(SecurityTest, DefaultNetworkIsLoopbackOnly) {
  const Fields ifaces = probe_fields({}, {"ifaces"});
  EXPECT_EQ(ifaces.at("names"), "lo");
  EXPECT_EQ(ifaces.at("lo_up"), "1");
  const Fields tcp = probe_fields({}, {"tcp-loopback"});
  EXPECT_EQ(tcp.at("result"), "ok") << "step " << tcp.at("step");

  HostListener host;
  ASSERT_NE(host.port, 0);
  EXPECT_NE(probe_fields({}, {"connect", std::to_string(host.port)})["result"], "ok");
  EXPECT_FALSE(host.was_reached()) << "the host's loopback port was reached";
}

TEST_F(SecurityTest, HostNetworkIsTheHosts) {
  std::string expected;
  for (const auto& n : host_interfaces()) expected += (expected.empty() ? "" : ",") + n;
  EXPECT_EQ(probe_fields({"--net", "host"}, {"ifaces"})["names"], expected);

  HostListener host;
  ASSERT_NE(host.port, 0);
  EXPECT_EQ(probe_fields({"--net", "host"}, {"connect", std::to_string(host.port)})["result"], "ok");
  EXPECT_TRUE(host.was_reached()) << "--net host did not reach the host's loopback";
}

}  // namespace
}  // namespace sandbox::it
