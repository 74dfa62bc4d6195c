// `--net filtered` against the test network of fixture.sh: names, addresses, ports, rebinding,
// the host's loopback, the denial log, `sandbox ps`, --publish, the helpers' lifetime. Each
// refusal is paired with a control that shows the fixture would have answered.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "tests/network/network.h"

namespace sandbox::nt {
namespace {

using Clock = std::chrono::steady_clock;

std::string get(const Fields& f, const std::string& key) {
  const auto it = f.find(key);
  return it == f.end() ? "<none>" : it->second;
}

double ms(const Fields& f) {
  const auto it = f.find("ms");
  return it == f.end() ? 1e9 : std::stod(it->second);
}

// The errors a refused connection may give: a TCP reset (ECONNREFUSED) or an ICMP
// administratively-prohibited / unreachable (EHOSTUNREACH, ENETUNREACH, EACCES, EPERM). A
// timeout is not a refusal: the rule is "refused immediately".
bool is_refusal(const Fields& f) {
  const std::string err = get(f, "err");
  return get(f, "ok") == "0" &&
         (err.rfind("ConnectionRefusedError", 0) == 0 || err.find(":113") != std::string::npos ||
          err.find(":101") != std::string::npos || err.rfind("PermissionError", 0) == 0);
}

std::string read_or_empty(const std::string& path) { return it::read_file(path).value_or(""); }

// A free TCP port on the host's 127.0.0.1 (bound, then released).
int free_port() {
  const int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(s);
    return -1;
  }
  close(s);
  return ntohs(a.sin_port);
}

// Connects from the host (this process) and returns the first line, or "error: ...".
std::string host_connect(const std::string& addr, int port) {
  const bool v6 = addr.find(':') != std::string::npos;
  const int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{3, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_storage ss{};
  socklen_t len;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET6, addr.c_str(), &a->sin6_addr);
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, addr.c_str(), &a->sin_addr);
    len = sizeof(*a);
  }
  if (connect(s, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    const std::string why = std::string("error: connect: ") + strerror(errno);
    close(s);
    return why;
  }
  std::string data;
  char buf[256];
  ssize_t n;
  while (data.find('\n') == std::string::npos && (n = read(s, buf, sizeof(buf))) > 0)
    data.append(buf, static_cast<size_t>(n));
  close(s);
  if (data.empty()) return "error: closed without a greeting";
  return data.substr(0, data.find('\n'));
}

// The host's IPv4 and IPv6 addresses other than loopback and link-local.
std::vector<std::string> host_addresses() {
  std::vector<std::string> out;
  ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) return out;
  for (ifaddrs* i = all; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    char text[INET6_ADDRSTRLEN];
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* a = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
      if ((ntohl(a->sin_addr.s_addr) >> 24) == 127) continue;
      inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* a = reinterpret_cast<sockaddr_in6*>(i->ifa_addr);
      if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) || IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr)) continue;
      inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
    } else {
      continue;
    }
    out.push_back(text);
  }
  freeifaddrs(all);
  return out;
}

#define EXPECT_DATA(r, label, expected) \
  EXPECT_EQ(get(line(r, label), "data"), expected) << "operation " << label << "\n" << (r).describe()
#define EXPECT_REFUSED(r, label)                                                             \
  do {                                                                                       \
    const Fields f_ = line(r, label);                                                        \
    EXPECT_TRUE(is_refusal(f_)) << "operation " << label << " was not refused\n" << (r).describe(); \
    EXPECT_LT(ms(f_), 2000) << "operation " << label << " was not refused quickly\n" << (r).describe(); \
  } while (0)
#define EXPECT_FAILS(r, label)                                                    \
  EXPECT_EQ(get(line(r, label), "ok"), "0") << "operation " << label << " succeeded\n" \
                                            << (r).describe()

// ---- Names ----

TEST_F(NetworkTest, AllowedNameResolvesAndConnectsOverTcpAndUdpOnIpv4AndIpv6) {
  const Result r = inside({"--net", "filtered", "--allow", "allowed.test"},
                          {"r,resolve,allowed.test", "t4,tcp,allowed.test,80,4",
                           "t6,tcp,allowed.test,80,6", "p4,tcp,allowed.test,8080,4",
                           "u4,udp,allowed.test,5300,4", "u6,udp,allowed.test,5300,6"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(get(line(r, "r"), "addrs"), "2001:db8:2::10,203.0.113.10") << r.describe();
  EXPECT_DATA(r, "t4", "hello_203.0.113.10_80");
  EXPECT_DATA(r, "t6", "hello_2001:db8:2::10_80");
  EXPECT_DATA(r, "p4", "hello_203.0.113.10_8080");
  EXPECT_DATA(r, "u4", "hello_203.0.113.10_5300_ping");
  EXPECT_DATA(r, "u6", "hello_2001:db8:2::10_5300_ping");
}

TEST_F(NetworkTest, AllowAloneImpliesFilteredNetwork) {
  const Result r = inside({"--allow", "allowed.test"},
                          {"a,tcp,allowed.test,80", "b,tcp,203.0.113.20,80", "c,dns,blocked.test,A"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_DATA(r, "a", "hello_203.0.113.10_80");
  EXPECT_REFUSED(r, "b");
  EXPECT_EQ(get(line(r, "c"), "rcode"), "NXDOMAIN") << r.describe();
}

TEST_F(NetworkTest, NamesNotAllowedGetNxdomainAndTheResolverCannotBeBypassed) {
  // Control: the fixture answers them.
  const Result h = on_host({"a,dns,blocked.test,A", "b,dns,blocked.test,AAAA", "c,dns,sub.allowed.test,A"});
  ASSERT_EQ(get(line(h, "a"), "answers"), "203.0.113.20") << h.describe();
  ASSERT_EQ(get(line(h, "b"), "answers"), "2001:db8:2::20") << h.describe();
  ASSERT_EQ(get(line(h, "c"), "answers"), "203.0.113.15") << h.describe();

  const Result r = inside_sh({"--allow", "allowed.test"}, R"SH(
    echo "resolv $(grep -m1 '^nameserver' /etc/resolv.conf | tr ' ' =)"
    getent hosts blocked.test; echo "getent_blocked rc=$?"
    getent hosts allowed.test >/dev/null; echo "getent_allowed rc=$?"
    nt a,dns,blocked.test,A b,dns,blocked.test,AAAA c,resolve,blocked.test \
       d,dns,other.test,A e,dns,sub.allowed.test,A \
       f,dns,blocked.test,A,203.0.113.53 g,dns,allowed.test,A,203.0.113.53 \
       h,dns,blocked.test,AAAA,2001:db8:2::53
  )SH");
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(get(line(r, "resolv"), "nameserver"), "127.0.0.1") << r.describe();
  EXPECT_EQ(get(line(r, "getent_blocked"), "rc"), "2") << r.describe();  // 2: not found
  EXPECT_EQ(get(line(r, "getent_allowed"), "rc"), "0") << r.describe();
  EXPECT_EQ(get(line(r, "a"), "rcode"), "NXDOMAIN") << r.describe();
  EXPECT_EQ(get(line(r, "b"), "rcode"), "NXDOMAIN") << r.describe();
  EXPECT_EQ(get(line(r, "c"), "err"), "gaierror:-2") << r.describe();  // EAI_NONAME
  EXPECT_EQ(get(line(r, "d"), "rcode"), "NXDOMAIN") << r.describe();
  EXPECT_EQ(get(line(r, "e"), "rcode"), "NXDOMAIN") << "allowed.test does not allow its sub-domains\n"
                                                    << r.describe();
  // Straight to the fixture's DNS server, past the sandbox's resolver: no answer.
  EXPECT_FAILS(r, "f");
  EXPECT_FAILS(r, "g");
  EXPECT_FAILS(r, "h");
}

TEST_F(NetworkTest, WildcardRuleAllowsSubdomainsOnly) {
  const Result h = on_host({"d,dns,wild.test,A"});
  ASSERT_EQ(get(line(h, "d"), "answers"), "203.0.113.12") << h.describe();
  const Result r = inside({"--allow", "*.wild.test"},
                          {"a,tcp,a.wild.test,80,4", "b,tcp,a.wild.test,8080,6",
                           "c,dns,allowed.test,A", "d,dns,wild.test,A"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_DATA(r, "a", "hello_203.0.113.12_80");
  EXPECT_DATA(r, "b", "hello_2001:db8:2::12_8080");
  EXPECT_EQ(get(line(r, "c"), "rcode"), "NXDOMAIN") << r.describe();
  EXPECT_EQ(get(line(r, "d"), "rcode"), "NXDOMAIN") << r.describe();
}

// ---- Addresses and ports ----

TEST_F(NetworkTest, ConnectionsToAddressesNoAllowedNameResolvedToAreRefusedQuickly) {
  const Result h = on_host({"a,tcp,203.0.113.20,80", "b,tcp,2001:db8:2::20,80", "c,udp,203.0.113.20,5300",
                            "d,tcp,203.0.113.30,8080"});
  ASSERT_EQ(get(line(h, "a"), "ok"), "1") << h.describe();
  ASSERT_EQ(get(line(h, "b"), "ok"), "1") << h.describe();
  ASSERT_EQ(get(line(h, "c"), "ok"), "1") << h.describe();
  ASSERT_EQ(get(line(h, "d"), "ok"), "1") << h.describe();

  const Result r = inside({"--allow", "allowed.test"},
                          {"r,resolve,allowed.test", "a,tcp,203.0.113.20,80", "b,tcp,2001:db8:2::20,80",
                           "c,udp,203.0.113.20,5300", "d,tcp,203.0.113.30,8080",
                           "e,tcp,allowed.test,80"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_REFUSED(r, "a");
  EXPECT_REFUSED(r, "b");
  EXPECT_FAILS(r, "c");
  EXPECT_REFUSED(r, "d");
  EXPECT_DATA(r, "e", "hello_203.0.113.10_80");  // the sandbox does have a network
}

TEST_F(NetworkTest, TcpPortRuleAllowsThatPortOnly) {
  const Result h = on_host({"a,tcp,allowed.test,8080", "b,udp,allowed.test,5300"});
  ASSERT_EQ(get(line(h, "a"), "ok"), "1") << h.describe();
  ASSERT_EQ(get(line(h, "b"), "ok"), "1") << h.describe();

  const Result r = inside({"--allow", "allowed.test:80/tcp"},
                          {"a,tcp,allowed.test,80,4", "b,tcp,allowed.test,80,6",
                           "c,tcp,allowed.test,8080,4", "d,tcp,allowed.test,8080,6",
                           "e,udp,allowed.test,5300,4"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_DATA(r, "a", "hello_203.0.113.10_80");
  EXPECT_DATA(r, "b", "hello_2001:db8:2::10_80");
  EXPECT_REFUSED(r, "c");
  EXPECT_REFUSED(r, "d");
  EXPECT_FAILS(r, "e");
}

TEST_F(NetworkTest, UdpPortRuleAllowsUdpOnly) {
  const Result r = inside({"--allow", "allowed.test:5300/udp"},
                          {"a,udp,allowed.test,5300,4", "b,udp,allowed.test,5300,6",
                           "c,tcp,allowed.test,80,4"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_DATA(r, "a", "hello_203.0.113.10_5300_ping");
  EXPECT_DATA(r, "b", "hello_2001:db8:2::10_5300_ping");
  EXPECT_REFUSED(r, "c");
}

TEST_F(NetworkTest, PortRangeRuleAllowsThatRange) {
  const Result r = inside({"--allow", "allowed.test:8000-8100"},
                          {"a,tcp,allowed.test,8080", "b,tcp,allowed.test,80"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_DATA(r, "a", "hello_203.0.113.10_8080");
  EXPECT_REFUSED(r, "b");
}

TEST_F(NetworkTest, AddressAndCidrRulesAllowWithoutDns) {
  const Result r = inside({"--allow", "203.0.113.28/30:80/tcp", "--allow", "[2001:db8:2::30]:80"},
                          {"a,tcp,203.0.113.30,80", "b,tcp,2001:db8:2::30,80",
                           "c,tcp,203.0.113.30,8080", "d,tcp,203.0.113.20,80",
                           "e,tcp,2001:db8:2::30,8080", "f,dns,allowed.test,A"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_DATA(r, "a", "hello_203.0.113.30_80");
  EXPECT_DATA(r, "b", "hello_2001:db8:2::30_80");
  EXPECT_REFUSED(r, "c");
  EXPECT_REFUSED(r, "d");
  EXPECT_REFUSED(r, "e");
  EXPECT_EQ(get(line(r, "f"), "rcode"), "NXDOMAIN") << r.describe();
}

// An answer's addresses are let through for its TTL (at least 10 s): shortttl.test has a TTL of
// 1 s. Connections made in time live on; new ones after that need the name asked again.
TEST_F(NetworkTest, ResolvedAddressesExpireWithTheAnswer) {
  const Result h = on_host({"t,dns,shortttl.test,A"});
  ASSERT_EQ(get(line(h, "t"), "ttl"), "1") << h.describe();
  const Result r = inside({"--allow", "shortttl.test"},
                          {"a,tcp,shortttl.test,80,4", "b,tcp,203.0.113.14,8080",
                           "h,hold,203.0.113.14,8080,13", "c,tcp,203.0.113.14,80",
                           "d,tcp,shortttl.test,80,4", "e,tcp,203.0.113.14,8080"},
                          120);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_DATA(r, "a", "hello_203.0.113.14_80");
  EXPECT_DATA(r, "b", "hello_203.0.113.14_8080");
  EXPECT_DATA(r, "h", "ping");   // established before the expiry: not cut
  EXPECT_REFUSED(r, "c");        // 13 s after the answer (TTL 1 s, kept at least 10 s)
  EXPECT_DATA(r, "d", "hello_203.0.113.14_80");  // asked again: let through again
  EXPECT_DATA(r, "e", "hello_203.0.113.14_8080");
}

// ---- The host's loopback ----

TEST_F(NetworkTest, HostLoopbackIsNotReachable) {
  const int port4 = host_listener("127.0.0.1");
  const int port6 = host_listener("::1");
  ASSERT_GT(port4, 0);
  ASSERT_GT(port6, 0);
  const Result h = on_host({"a,tcp,127.0.0.1," + std::to_string(port4), "b,tcp,::1," + std::to_string(port6)});
  ASSERT_EQ(get(line(h, "a"), "data"), "hello-from-listener") << h.describe();
  ASSERT_EQ(get(line(h, "b"), "data"), "hello-from-listener") << h.describe();

  // Inside, 127.0.0.1 is the sandbox's own loopback; pasta would map the gateway's address to
  // the host's (unless told not to), and forward ports bound on the host's loopback.
  const Result r = inside_sh({"--allow", "allowed.test"}, R"SH(
    P4=)SH" + std::to_string(port4) + " P6=" + std::to_string(port6) + R"SH(
    gw=$(nt g,gateway); echo "$gw"
    gw4=$(echo "$gw" | sed -n 's/.* gw4=\([^ ]*\).*/\1/p')
    gw6=$(echo "$gw" | sed -n 's/.* gw6=\([^ ]*\).*/\1/p')
    nt a,tcp,127.0.0.1,$P4 b,tcp,::1,$P6 c,tcp,$gw4,$P4 d,tcp,$gw6,$P6 \
       e,tcp,localhost,$P4 f,tcp,allowed.test,80
  )SH");
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  ASSERT_NE(get(line(r, "g"), "gw4"), "-") << "no IPv4 default route inside\n" << r.describe();
  EXPECT_FAILS(r, "a");
  EXPECT_FAILS(r, "b");
  EXPECT_FAILS(r, "c");
  if (get(line(r, "g"), "gw6") != "-") {
    EXPECT_FAILS(r, "d");
  }
  EXPECT_FAILS(r, "e");
  EXPECT_DATA(r, "f", "hello_203.0.113.10_80");
}

TEST_F(NetworkTest, LocalhostRuleReachesThatHostPortOnly) {
  const int port = host_listener("127.0.0.1");
  const int other = host_listener("127.0.0.1");
  ASSERT_GT(port, 0);
  ASSERT_GT(other, 0);
  const Result r = inside({"--allow", "localhost:" + std::to_string(port)},
                          {"a,tcp,127.0.0.1," + std::to_string(port),
                           "b,tcp,127.0.0.1," + std::to_string(other), "c,tcp,allowed.test,80"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_DATA(r, "a", "hello-from-listener");
  EXPECT_FAILS(r, "b");
  EXPECT_FAILS(r, "c");
}

// ---- DNS rebinding and `lan` ----

// The resolver may pass such an answer on (sandbox-net does, unchanged), but the address is
// not let through: nothing reaches the private address or, through the name, the host's
// loopback, and the log says why.
TEST_F(NetworkTest, AllowedNamesAnsweredWithLoopbackOrPrivateAddressesAreNotLetThrough) {
  const int port = host_listener("127.0.0.1");
  ASSERT_GT(port, 0);
  const std::string p = std::to_string(port);
  const Result h = on_host({"a,dns,rebind.test,A", "b,dns,lanrebind.test,A", "c,tcp,10.1.2.3,80",
                            "d,tcp,rebind.test," + p});
  ASSERT_EQ(get(line(h, "a"), "answers"), "127.0.0.1") << h.describe();
  ASSERT_EQ(get(line(h, "b"), "answers"), "10.1.2.3") << h.describe();
  ASSERT_EQ(get(line(h, "c"), "data"), "hello_10.1.2.3_80") << h.describe();
  ASSERT_EQ(get(line(h, "d"), "data"), "hello-from-listener") << h.describe();

  const std::string log = net_log_path();
  const Result r = inside({"--allow", "rebind.test", "--allow", "lanrebind.test", "--net-log", log},
                          {"a,dns,rebind.test,A", "b,tcp,rebind.test," + p, "c,dns,lanrebind.test,A",
                           "d,tcp,lanrebind.test,80", "e,tcp,10.1.2.3,80", "f,udp,lanrebind.test,5300"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_FAILS(r, "b");
  EXPECT_REFUSED(r, "d");
  EXPECT_REFUSED(r, "e");
  EXPECT_FAILS(r, "f");
  const std::string text = read_or_empty(log);
  EXPECT_TRUE(log_has(text, "dns rebind.test -> 127.0.0.1: loopback or private address")) << text;
  EXPECT_TRUE(log_has(text, "dns lanrebind.test -> 10.1.2.3: loopback or private address")) << text;
  EXPECT_TRUE(log_has(text, "tcp 10.1.2.3:80")) << text;
}

TEST_F(NetworkTest, LanAllowsPrivateAddressesButNotLoopback) {
  const int port = host_listener("127.0.0.1");
  ASSERT_GT(port, 0);
  const std::string p = std::to_string(port);
  const std::string log = net_log_path();
  const Result r = inside({"--allow", "lanrebind.test", "--allow", "rebind.test", "--allow", "lan",
                           "--net-log", log},
                          {"a,resolve,lanrebind.test", "b,tcp,lanrebind.test,80",
                           "c,tcp,10.1.2.3,8080", "d,dns,rebind.test,A", "e,tcp,rebind.test," + p,
                           "f,tcp,203.0.113.20,80"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(get(line(r, "a"), "addrs"), "10.1.2.3") << r.describe();
  EXPECT_DATA(r, "b", "hello_10.1.2.3_80");
  EXPECT_DATA(r, "c", "hello_10.1.2.3_8080");
  EXPECT_FAILS(r, "e");
  EXPECT_REFUSED(r, "f");
  const std::string text = read_or_empty(log);
  EXPECT_TRUE(log_has(text, "dns rebind.test -> 127.0.0.1: loopback or private address")) << text;
  EXPECT_EQ(text.find("10.1.2.3"), std::string::npos) << text;
}

// ---- What is refused is said ----

TEST_F(NetworkTest, DenialLogListsEachRefusal) {
  const std::string log = net_log_path();
  const Result r = inside({"--allow", "allowed.test", "--net-log", log},
                          {"a,dns,blocked.test,A", "b,dns,blocked.test,AAAA", "c,tcp,203.0.113.20,80",
                           "d,tcp,2001:db8:2::20,8080", "e,udp,203.0.113.20,5300",
                           "f,tcp,allowed.test,80", "g,udp,allowed.test,5300"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_DATA(r, "f", "hello_203.0.113.10_80");
  const auto text = it::read_file(log);
  ASSERT_TRUE(text.has_value()) << "no " << log << "\n" << r.describe();
  EXPECT_TRUE(log_has(*text, "dns blocked.test (A): not allowed")) << *text;
  EXPECT_TRUE(log_has(*text, "dns blocked.test (AAAA): not allowed")) << *text;
  EXPECT_TRUE(log_has(*text, "tcp 203.0.113.20:80")) << *text;
  EXPECT_TRUE(log_has(*text, "tcp [2001:db8:2::20]:8080")) << *text;
  EXPECT_TRUE(log_has(*text, "udp 203.0.113.20:5300")) << *text;
  // What was allowed is not there, and every line has the documented form.
  EXPECT_EQ(text->find("allowed.test"), std::string::npos) << *text;
  EXPECT_EQ(text->find("203.0.113.10"), std::string::npos) << *text;
  size_t lines = 0;
  for (const auto& l : it::split(*text, '\n')) {
    const size_t at = l.find(" refused ");
    if (l.empty()) continue;
    ++lines;
    EXPECT_TRUE(at != std::string::npos && log_has(l, l.substr(at + 9))) << "malformed: " << l;
  }
  EXPECT_EQ(lines, 5u) << "one line per refusal (two names, three connections):\n" << *text;
}

TEST_F(NetworkTest, PsCountsRefusals) {
  const std::string app = "nt" + std::to_string(getpid());
  Process& p = start(nettool_argv({"--allow", "allowed.test", "--name", app},
                                  {"a,tcp,203.0.113.20,80", "b,tcp,203.0.113.20,8080",
                                   "c,dns,blocked.test,A", "m,sleep,0", "s,sleep,60"}));
  ASSERT_TRUE(p.wait_for_stdout("m kind=sleep", 60000)) << p.out_so_far();
  std::string row, listing;
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  for (;;) {
    const Result ps = sandbox({"ps"});
    listing = ps.describe();
    row.clear();
    for (const auto& l : it::split(ps.out, '\n'))
      if (l.find(" " + app + " ") != std::string::npos) row = l;
    if (row.find("(3 refused)") != std::string::npos || Clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(row.find("filtered (3 refused)"), std::string::npos)
      << "three refusals (two connections, one name); the row:\n" << row << "\n" << listing;
  const Result json = sandbox({"ps", "--json"});
  EXPECT_NE(json.out.find("\"net_denials\": 3"), std::string::npos) << json.describe();
}

// ---- The filter cannot be changed from inside ----

TEST_F(NetworkTest, NftablesCannotBeChangedFromInside) {
  if (access("/usr/sbin/nft", X_OK) != 0) GTEST_SKIP() << "not installed: nft (apt-get install nftables)";
  const Result r = inside_sh({"--allow", "allowed.test"}, R"SH(
    echo "caps $(grep CapEff /proc/self/status | tr -d '\t' | tr ':' =)"
    nft flush ruleset; echo "flush rc=$?"
    nft add table inet sbtest; echo "add rc=$?"
    nft list ruleset >/dev/null; echo "list rc=$?"
    ip link set lo down; echo "iplink rc=$?"
    nt a,tcp,203.0.113.20,80 b,tcp,allowed.test,80 c,dns,blocked.test,A
  )SH");
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(get(line(r, "caps"), "CapEff"), "0000000000000000") << r.describe();
  EXPECT_NE(get(line(r, "flush"), "rc"), "0") << r.describe();
  EXPECT_NE(get(line(r, "add"), "rc"), "0") << r.describe();
  EXPECT_NE(get(line(r, "iplink"), "rc"), "0") << r.describe();
  EXPECT_REFUSED(r, "a");
  EXPECT_DATA(r, "b", "hello_203.0.113.10_80");
  EXPECT_EQ(get(line(r, "c"), "rcode"), "NXDOMAIN") << r.describe();
}

// ---- Helpers live as long as the sandbox ----

TEST_F(NetworkTest, PastaAndResolverExitWithTheSandbox) {
  Process& p = start(nettool_argv({"--allow", "allowed.test"},
                                  {"a,tcp,allowed.test,80", "m,sleep,0", "s,sleep,2"}));
  ASSERT_TRUE(p.wait_for_stdout("m kind=sleep", 60000)) << p.out_so_far();
  const auto running = helpers();
  std::string names;
  for (const auto& h : running) names += h.comm + "(" + std::to_string(h.pid) + ") ";
  EXPECT_TRUE(std::any_of(running.begin(), running.end(),
                          [](const Helper& h) { return h.comm.rfind("pas", 0) == 0; }))
      << "no pasta process while the sandbox runs; found: " << names;
  EXPECT_TRUE(std::any_of(running.begin(), running.end(),
                          [](const Helper& h) { return h.comm == "sandbox-net"; }))
      << "no sandbox-net process while the sandbox runs; found: " << names;
  const Result r = p.wait(60);
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_DATA(r, "a", "hello_203.0.113.10_80");
  const auto deadline = Clock::now() + std::chrono::seconds(3);
  std::vector<Helper> left;
  do {
    left.clear();
    for (const auto& h : running)
      if (still_there(h)) left.push_back(h);
    if (left.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (Clock::now() < deadline);
  for (const auto& h : left) ADD_FAILURE() << h.comm << " (" << h.pid << ") outlived the sandbox by 3 s";
}

TEST_F(NetworkTest, PastaAndResolverExitWhenTheLauncherIsKilled) {
  Process& p = start(nettool_argv({"--allow", "allowed.test"}, {"m,sleep,0", "s,sleep,120"}));
  ASSERT_TRUE(p.wait_for_stdout("m kind=sleep", 60000)) << p.out_so_far();
  const auto running = helpers();
  ASSERT_FALSE(running.empty()) << "no pasta or sandbox-net process while the sandbox runs";
  kill(p.pid(), SIGKILL);
  p.wait(10);
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  std::vector<Helper> left;
  do {
    left.clear();
    for (const auto& h : running)
      if (still_there(h)) left.push_back(h);
    if (left.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (Clock::now() < deadline);
  for (const auto& h : left)
    ADD_FAILURE() << h.comm << " (" << h.pid << ") outlived the SIGKILLed launcher by 5 s";
}

// ---- --publish ----

TEST_F(NetworkTest, PublishExposesThePortOnTheHostLoopbackOnly) {
  const int port = free_port();
  ASSERT_GT(port, 0);
  const std::string ps = std::to_string(port);
  Process& p = start(nettool_argv({"--net", "filtered", "--publish", ps},
                                  {"l,listen,0.0.0.0," + ps + ",2"}));
  ASSERT_TRUE(p.wait_for_stdout("l listening", 60000)) << p.out_so_far();
  std::string got;
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while ((got = host_connect("127.0.0.1", port)) != "hello-from-listener" && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(got, "hello-from-listener") << "127.0.0.1:" << port << " on the host";
  for (const auto& addr : host_addresses()) {
    const std::string other = host_connect(addr, port);
    EXPECT_EQ(other.rfind("error: connect", 0), 0u)
        << "the published port answers on the host's " << addr << ": " << other;
  }
  EXPECT_EQ(host_connect("127.0.0.1", port), "hello-from-listener");
  const Result r = p.wait(30);
  EXPECT_EQ(r.exit_code, 0) << r.describe();
}

// ---- Profiles and errors ----

TEST_F(NetworkTest, ProfileKeysGiveTheSameFilter) {
  const int port = free_port();
  ASSERT_GT(port, 0);
  const std::string profile = outside_dir("profile") + "/netfiltered.yaml";
  it::write_file(profile,
                 "version: 1\nextends: default\nnetwork:\n  mode: filtered\n"
                 "  allow: [\"allowed.test:80/tcp\", \"*.wild.test\"]\n"
                 "  publish: [" + std::to_string(port) + "]\n");
  profile_ = profile;
  Process& p = start(nettool_argv({}, {"a,tcp,allowed.test,80", "b,tcp,allowed.test,8080",
                                       "c,tcp,a.wild.test,8080", "d,dns,blocked.test,A",
                                       "l,listen,0.0.0.0," + std::to_string(port) + ",1"}));
  ASSERT_TRUE(p.wait_for_stdout("l listening", 60000)) << p.out_so_far();
  std::string got;
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while ((got = host_connect("127.0.0.1", port)) != "hello-from-listener" && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(got, "hello-from-listener") << "published 127.0.0.1:" << port;
  const Result r = p.wait(30);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_DATA(r, "a", "hello_203.0.113.10_80");
  EXPECT_REFUSED(r, "b");
  EXPECT_DATA(r, "c", "hello_203.0.113.12_8080");
  EXPECT_EQ(get(line(r, "d"), "rcode"), "NXDOMAIN") << r.describe();
}

TEST_F(NetworkTest, BadRuleExits125NamingTheRule) {
  const Result r = sandbox({"run", "-p", "default", "--allow", "exa mple.com", "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 125) << r.describe();
  EXPECT_NE(r.err.find("exa mple.com"), std::string::npos) << r.describe();

  const Result port = sandbox({"run", "-p", "default", "--allow", "allowed.test:99999", "--", "/bin/true"});
  EXPECT_EQ(port.exit_code, 125) << port.describe();
  EXPECT_NE(port.err.find("allowed.test:99999"), std::string::npos) << port.describe();

  const std::string profile = outside_dir("profile") + "/badrule.yaml";
  it::write_file(profile, "version: 1\nextends: default\nnetwork:\n  mode: filtered\n  allow: [\"exa mple.com\"]\n");
  const Result p = sandbox({"run", "-p", profile, "--", "/bin/true"});
  EXPECT_EQ(p.exit_code, 125) << p.describe();
  EXPECT_NE(p.err.find("exa mple.com"), std::string::npos) << p.describe();
}

TEST_F(NetworkTest, NetworkModeNoneHasOnlyLoopback) {
  const std::string profile = outside_dir("profile") + "/netnone.yaml";
  it::write_file(profile, "version: 1\nextends: default\nnetwork:\n  mode: none\n");
  profile_ = profile;
  const Result r = inside({}, {"i,ifaces", "a,tcp,203.0.113.10,80", "b,resolve,allowed.test",
                               "c,dns,allowed.test,A,203.0.113.53"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(get(line(r, "i"), "names"), "lo") << r.describe();
  EXPECT_FAILS(r, "a");
  EXPECT_FAILS(r, "b");
  EXPECT_FAILS(r, "c");
}

}  // namespace
}  // namespace sandbox::nt
