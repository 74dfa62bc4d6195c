#include "netpolicy/nft.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sandbox::netpolicy {
namespace {

std::vector<Rule> parse_all(std::initializer_list<const char*> texts) {
  std::vector<Rule> out;
  for (const char* t : texts) out.push_back(parse_rule(t));
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) {
    size_t start = l.find_first_not_of(' ');
    if (start != std::string::npos && l.substr(start) == line) return true;
  }
  return false;
}

ResolvedAddress answer(const char* text, uint32_t ttl) {
  return {*parse_address(text), ttl};
}

TEST(NetpolicyNft, BaseChainAndFinalReject) {
  std::string r = ruleset({}, 9);
  EXPECT_TRUE(has_line(r, "table inet sandbox {}"));
  EXPECT_TRUE(has_line(r, "delete table inet sandbox"));
  EXPECT_TRUE(has_line(r, "type filter hook output priority filter; policy drop;"));
  EXPECT_TRUE(has_line(r, "oifname \"lo\" accept"));
  EXPECT_TRUE(has_line(r, "ct state established,related accept"));
  EXPECT_NE(r.find("nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit"), std::string::npos);
  EXPECT_TRUE(has_line(r, "limit rate 50/second burst 100 packets log group 9"));
  EXPECT_TRUE(has_line(r, "meta l4proto tcp reject with tcp reset"));
  EXPECT_TRUE(has_line(r, "reject with icmpx admin-prohibited"));
  // The log and the rejects come last.
  EXPECT_LT(r.find("ct state"), r.find("log group"));
  EXPECT_LT(r.find("log group"), r.find("reject with tcp reset"));
  EXPECT_LT(r.find("reject with tcp reset"), r.find("icmpx"));
}

TEST(NetpolicyNft, AddressRulesWithPortsAndProtocols) {
  std::string r = ruleset(parse_all({"203.0.113.5", "10.0.0.0/8:5432/tcp", "[2001:db8::/32]:80-90",
                                     "2001:db8::1/udp", "198.51.100.0/24:53"}));
  EXPECT_TRUE(has_line(r, "ip daddr 203.0.113.5 accept"));
  EXPECT_TRUE(has_line(r, "ip daddr 10.0.0.0/8 tcp dport 5432 accept"));
  EXPECT_TRUE(has_line(r, "ip6 daddr 2001:db8::/32 meta l4proto { tcp, udp } th dport 80-90 accept"));
  EXPECT_TRUE(has_line(r, "ip6 daddr 2001:db8::1 meta l4proto udp accept"));
  EXPECT_TRUE(has_line(r, "ip daddr 198.51.100.0/24 meta l4proto { tcp, udp } th dport 53 accept"));
  EXPECT_LT(r.find("203.0.113.5 accept"), r.find("log group"));
}

TEST(NetpolicyNft, LanPresetExpandsToEveryPrivateRange) {
  std::string r = ruleset(parse_all({"lan:22/tcp"}));
  for (const char* net :
       {"ip daddr 10.0.0.0/8", "ip daddr 172.16.0.0/12", "ip daddr 192.168.0.0/16", "ip daddr 100.64.0.0/10",
        "ip daddr 169.254.0.0/16", "ip6 daddr fc00::/7", "ip6 daddr fe80::/10"}) {
    EXPECT_TRUE(has_line(r, std::string(net) + " tcp dport 22 accept")) << net;
  }
}

TEST(NetpolicyNft, NameRulesGetTwoSetsEach) {
  std::string r = ruleset(parse_all({"example.com", "10.0.0.1", "*.npmjs.org:443/tcp"}));
  EXPECT_TRUE(has_line(r, "set n0_4 { type ipv4_addr; flags timeout; }"));
  EXPECT_TRUE(has_line(r, "set n0_6 { type ipv6_addr; flags timeout; }"));
  EXPECT_EQ(r.find("set n1_"), std::string::npos);  // the address rule has no set
  EXPECT_TRUE(has_line(r, "set n2_4 { type ipv4_addr; flags timeout; }"));
  EXPECT_TRUE(has_line(r, "ip daddr @n0_4 accept"));
  EXPECT_TRUE(has_line(r, "ip6 daddr @n0_6 accept"));
  EXPECT_TRUE(has_line(r, "ip daddr @n2_4 tcp dport 443 accept"));
  EXPECT_TRUE(has_line(r, "ip6 daddr @n2_6 tcp dport 443 accept"));
}

TEST(NetpolicyNft, LocalhostNeedsNoFilterRule) {
  EXPECT_EQ(ruleset(parse_all({"localhost:8080"})), ruleset({}));
}

TEST(NetpolicyNft, AddElementsGoesToEveryMatchingRule) {
  std::vector<Rule> rules = parse_all({"www.example.com:443/tcp", "other.org", "*.example.com"});
  std::string t =
      add_elements(rules, "www.example.com", {answer("203.0.113.7", 300), answer("2001:db8::7", 3)});
  EXPECT_TRUE(has_line(t, "add element inet sandbox n0_4 { 203.0.113.7 timeout 300s }"));
  EXPECT_TRUE(has_line(t, "delete element inet sandbox n0_4 { 203.0.113.7 }"));
  EXPECT_TRUE(has_line(t, "add element inet sandbox n2_4 { 203.0.113.7 timeout 300s }"));
  // A TTL under 10 s becomes 10 s.
  EXPECT_TRUE(has_line(t, "add element inet sandbox n0_6 { 2001:db8::7 timeout 10s }"));
  EXPECT_TRUE(has_line(t, "add element inet sandbox n2_6 { 2001:db8::7 timeout 10s }"));
  EXPECT_EQ(t.find("n1_"), std::string::npos);
  // add, delete, add: the first add makes the delete safe, the second sets the new timeout.
  size_t first = t.find("add element inet sandbox n0_4");
  size_t del = t.find("delete element inet sandbox n0_4");
  size_t second = t.find("add element inet sandbox n0_4", first + 1);
  EXPECT_LT(first, del);
  EXPECT_LT(del, second);
}

TEST(NetpolicyNft, AddElementsEdgeCases) {
  std::vector<Rule> rules = parse_all({"example.com"});
  EXPECT_EQ(add_elements(rules, "other.com", {answer("203.0.113.7", 60)}), "");
  EXPECT_EQ(add_elements(rules, "example.com", {}), "");
  std::string huge = add_elements(rules, "EXAMPLE.com.", {answer("203.0.113.7", 0x7fffffff)});
  EXPECT_TRUE(has_line(huge, "add element inet sandbox n0_4 { 203.0.113.7 timeout 86400s }"));
  // An IPv4-mapped AAAA answer is reached over IPv4.
  std::string mapped = add_elements(rules, "example.com", {answer("::ffff:203.0.113.9", 60)});
  EXPECT_TRUE(has_line(mapped, "add element inet sandbox n0_4 { 203.0.113.9 timeout 60s }"));
}

// Feeds the generated text to the real nft inside a user+network namespace of our own.
std::string nft_binary() {
  for (const char* p : {"/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return {};
}

int run_shell(const std::string& cmd, std::string* output) {
  FILE* f = popen((cmd + " 2>&1").c_str(), "r");
  if (!f) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) output->append(buf, n);
  int status = pclose(f);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(NetpolicyNft, RulesetAndElementsLoadIntoTheKernel) {
  std::string nft = nft_binary();
  if (nft.empty()) GTEST_SKIP() << "nft not installed (apt-get install nftables)";
  std::string out;
  if (run_shell("unshare --user --map-root-user --net true", &out) != 0) {
    GTEST_SKIP() << "cannot create a user+network namespace here: " << out;
  }
  std::vector<Rule> rules = parse_all({"example.com", "*.example.org:443/tcp", "203.0.113.5",
                                       "10.0.0.0/8:5432/tcp", "[2001:db8::/32]:80-90", "2001:db8::1/udp",
                                       "lan:22", "localhost:8080", "198.51.100.0/24:53/udp"});
  std::string text =
      ruleset(rules) +
      add_elements(rules, "example.com", {answer("203.0.113.7", 300), answer("2001:db8::7", 3)}) +
      add_elements(rules, "a.example.org", {answer("203.0.113.7", 30)});
  char path[] = "/tmp/netpolicy_nft_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  out.clear();
  // Load it for real (the namespace is thrown away), twice: the ruleset replaces itself.
  std::string cmd = "unshare --user --map-root-user --net sh -c '" + nft + " -f " + path + " && " + nft +
                    " -f " + path + " && " + nft + " list set inet sandbox n0_4'";
  int rc = run_shell(cmd, &out);
  unlink(path);
  if (rc != 0 && out.find("Operation not permitted") != std::string::npos) {
    GTEST_SKIP() << "nftables is not allowed in an unprivileged namespace here: " << out;
  }
  ASSERT_EQ(rc, 0) << out << "\n--- text:\n" << text;
  EXPECT_NE(out.find("203.0.113.7 timeout 5m"), std::string::npos) << out;
}

}  // namespace
}  // namespace sandbox::netpolicy
