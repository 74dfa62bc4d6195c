#include "netpolicy/rules.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

namespace sandbox::netpolicy {
namespace {

Address addr(const char* text) {
  return *parse_address(text);
}

std::string error_of(const std::string& text) {
  try {
    parse_rule(text);
  } catch (const RuleError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(NetpolicyRules, NameWithPortAndProtocol) {
  Rule r = parse_rule("registry.npmjs.org:443/tcp");
  EXPECT_EQ(r.kind, Rule::Kind::kName);
  EXPECT_EQ(r.name, "registry.npmjs.org");
  EXPECT_EQ(r.text, "registry.npmjs.org:443/tcp");
  EXPECT_EQ(r.port_lo, 443);
  EXPECT_EQ(r.port_hi, 443);
  EXPECT_EQ(r.proto, Proto::kTcp);
}

TEST(NetpolicyRules, NameIsLowerCasedAndLosesFinalDot) {
  Rule r = parse_rule("Example.COM.");
  EXPECT_EQ(r.kind, Rule::Kind::kName);
  EXPECT_EQ(r.name, "example.com");
  EXPECT_EQ(r.port_lo, 0);
  EXPECT_EQ(r.proto, Proto::kAny);
}

TEST(NetpolicyRules, WildcardWithPortRangeAndUdp) {
  Rule r = parse_rule("*.example.com:1000-2000/UDP");
  EXPECT_EQ(r.kind, Rule::Kind::kWildcard);
  EXPECT_EQ(r.name, "example.com");
  EXPECT_EQ(r.port_lo, 1000);
  EXPECT_EQ(r.port_hi, 2000);
  EXPECT_EQ(r.proto, Proto::kUdp);
}

TEST(NetpolicyRules, Ipv4AddressAndNetwork) {
  Rule one = parse_rule("203.0.113.5");
  EXPECT_EQ(one.kind, Rule::Kind::kAddress);
  EXPECT_EQ(one.family, AF_INET);
  EXPECT_EQ(one.prefix, 32);
  EXPECT_EQ((Address{one.family, one.addr}), addr("203.0.113.5"));

  Rule net = parse_rule("10.0.0.0/8:5432/tcp");
  EXPECT_EQ(net.family, AF_INET);
  EXPECT_EQ(net.prefix, 8);
  EXPECT_EQ(net.port_lo, 5432);
  EXPECT_EQ(net.proto, Proto::kTcp);
  EXPECT_EQ((Address{net.family, net.addr}), addr("10.0.0.0"));
}

TEST(NetpolicyRules, Ipv6Forms) {
  Rule bare = parse_rule("2001:db8::1");
  EXPECT_EQ(bare.family, AF_INET6);
  EXPECT_EQ(bare.prefix, 128);
  EXPECT_EQ(bare.port_lo, 0);

  Rule net = parse_rule("2001:DB8::/32");
  EXPECT_EQ(net.prefix, 32);
  EXPECT_EQ((Address{net.family, net.addr}), addr("2001:db8::"));

  Rule port = parse_rule("[2001:db8::1]:443/tcp");
  EXPECT_EQ(port.family, AF_INET6);
  EXPECT_EQ(port.port_lo, 443);
  EXPECT_EQ(port.proto, Proto::kTcp);

  Rule range = parse_rule("[2001:db8::/32]:80-90");
  EXPECT_EQ(range.prefix, 32);
  EXPECT_EQ(range.port_lo, 80);
  EXPECT_EQ(range.port_hi, 90);
  EXPECT_EQ(range.proto, Proto::kAny);

  Rule proto_only = parse_rule("2001:db8::/32/udp");
  EXPECT_EQ(proto_only.prefix, 32);
  EXPECT_EQ(proto_only.proto, Proto::kUdp);
}

TEST(NetpolicyRules, Presets) {
  Rule lan = parse_rule("lan");
  EXPECT_EQ(lan.kind, Rule::Kind::kLan);
  Rule lan_port = parse_rule("LAN:22/tcp");
  EXPECT_EQ(lan_port.kind, Rule::Kind::kLan);
  EXPECT_EQ(lan_port.port_lo, 22);
  Rule local = parse_rule("localhost:8080/tcp");
  EXPECT_EQ(local.kind, Rule::Kind::kLocalhost);
  EXPECT_EQ(local.port_lo, 8080);
  EXPECT_EQ(local.proto, Proto::kTcp);
}

TEST(NetpolicyRules, ErrorsSayWhatIsWrongAndTheAcceptedForms) {
  struct Case {
    const char* rule;
    const char* says;
  } cases[] = {
      {"", "empty"},
      {"localhost", "localhost needs a port"},
      {"example.com:0", "out of range"},
      {"example.com:70000", "out of range"},
      {"example.com:http", "not a number"},
      {"example.com:", "port after ':' is missing"},
      {"example.com:90-80", "runs backwards"},
      {"example.com/icmp", "unknown protocol \"icmp\""},
      {"exa_mple.com", "character other than a-z, 0-9 and '-'"},
      {"-example.com", "starts or ends with '-'"},
      {"example..com", "empty label"},
      {"*", "network.mode: host"},
      {"foo.*.com", "first label"},
      {"*example.com", "first label"},
      {"300.1.2.3", "not a valid IPv4 address"},
      {"10.0.0.1/8", "did you mean 10.0.0.0/8?"},
      {"10.0.0.0/33", "prefix length"},
      {"2001:db8:1:2:3:4:5:6:443", "[2001:db8::1]:443"},
      {"2001:db8::zz", "not a valid IPv6"},
      {"[2001:db8::1]443", "only :PORT may follow"},
      {"[example.com]:80", "only for IPv6"},
      {"[2001:db8::1", "without a matching"},
      {"exam ple.com", "space"},
      {"2001:db8::1/64", "did you mean 2001:db8::/64?"},
  };
  for (const Case& c : cases) {
    std::string e = error_of(c.rule);
    EXPECT_NE(e.find(c.says), std::string::npos) << c.rule << " -> " << e;
    EXPECT_NE(e.find("accepted forms"), std::string::npos) << c.rule << " -> " << e;
    EXPECT_NE(e.find(std::string("\"") + c.rule + "\""), std::string::npos) << c.rule << " -> " << e;
  }
}

TEST(NetpolicyRules, HostNameLimits) {
  std::string label63(63, 'a');
  EXPECT_NO_THROW(parse_rule(label63 + ".com"));
  EXPECT_NE(error_of(label63 + "a.com").find("longer than 63"), std::string::npos);
  std::string long_name;
  while (long_name.size() < 260) long_name += "abcdefghi.";
  long_name += "com";
  EXPECT_NE(error_of(long_name).find("longer than 253"), std::string::npos);
  EXPECT_NO_THROW(parse_rule("intranet"));
  EXPECT_NO_THROW(parse_rule("1password.com"));
}

TEST(NetpolicyRules, NameMatching) {
  Rule name = parse_rule("example.com");
  Rule wild = parse_rule("*.example.com");
  EXPECT_TRUE(name_matches(name, "example.com"));
  EXPECT_TRUE(name_matches(name, "EXAMPLE.com."));
  EXPECT_FALSE(name_matches(name, "www.example.com"));
  EXPECT_FALSE(name_matches(name, "example.com.evil"));

  EXPECT_TRUE(name_matches(wild, "www.example.com"));
  EXPECT_TRUE(name_matches(wild, "a.b.c.example.com"));
  EXPECT_FALSE(name_matches(wild, "example.com"));
  EXPECT_FALSE(name_matches(wild, "badexample.com"));
  EXPECT_FALSE(name_matches(wild, ".example.com"));
  EXPECT_FALSE(name_matches(parse_rule("10.0.0.0/8"), "example.com"));
  EXPECT_FALSE(name_matches(parse_rule("lan"), "lan"));
}

TEST(NetpolicyRules, AddressClassification) {
  EXPECT_TRUE(is_loopback(addr("127.0.0.1")));
  EXPECT_TRUE(is_loopback(addr("127.255.0.9")));
  EXPECT_TRUE(is_loopback(addr("::1")));
  EXPECT_TRUE(is_loopback(addr("::ffff:127.0.0.1")));
  EXPECT_FALSE(is_loopback(addr("128.0.0.1")));
  EXPECT_TRUE(is_unspecified(addr("0.0.0.0")));
  EXPECT_TRUE(is_unspecified(addr("::")));
  EXPECT_FALSE(is_unspecified(addr("1.0.0.0")));

  for (const char* lan :
       {"10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1", "100.127.255.255",
        "169.254.1.1", "fd00::1", "fc00::1", "fe80::1", "::ffff:10.0.0.1"}) {
    EXPECT_TRUE(is_lan(addr(lan))) << lan;
  }
  for (const char* pub : {"172.32.0.1", "100.128.0.1", "8.8.8.8", "2001:db8::1", "fec0::1", "11.0.0.1"}) {
    EXPECT_FALSE(is_lan(addr(pub))) << pub;
  }
}

TEST(NetpolicyRules, AddressTextRoundTrip) {
  EXPECT_EQ(format_address(addr("2001:DB8:0::1")), "2001:db8::1");
  EXPECT_EQ(format_endpoint(addr("203.0.113.20"), 80), "203.0.113.20:80");
  EXPECT_EQ(format_endpoint(addr("2001:db8::20"), 53), "[2001:db8::20]:53");
  EXPECT_FALSE(parse_address("010.1.1.1"));
  EXPECT_FALSE(parse_address("example.com"));
  EXPECT_TRUE(in_network(addr("10.200.0.1"), addr("10.0.0.0"), 8));
  EXPECT_FALSE(in_network(addr("11.0.0.1"), addr("10.0.0.0"), 8));
  EXPECT_FALSE(in_network(addr("::ffff:10.0.0.1"), addr("10.0.0.0"), 8));  // different family
  EXPECT_TRUE(in_network(addr("8.8.8.8"), addr("0.0.0.0"), 0));
}

TEST(NetpolicyRules, RebindingProtection) {
  std::vector<Rule> names = {parse_rule("example.com")};
  EXPECT_EQ(answer_refusal(names, addr("203.0.113.5")), std::nullopt);
  EXPECT_EQ(answer_refusal(names, addr("127.0.0.1")), "loopback or private address");
  EXPECT_EQ(answer_refusal(names, addr("::1")), "loopback or private address");
  EXPECT_EQ(answer_refusal(names, addr("0.0.0.0")), "loopback or private address");
  EXPECT_EQ(answer_refusal(names, addr("192.168.1.1")), "loopback or private address");
  EXPECT_EQ(answer_refusal(names, addr("fe80::1")), "loopback or private address");
  EXPECT_EQ(answer_refusal(names, addr("::ffff:10.0.0.1")), "loopback or private address");

  std::vector<Rule> with_local = {parse_rule("example.com"), parse_rule("localhost:8080")};
  EXPECT_EQ(answer_refusal(with_local, addr("127.0.0.1")), std::nullopt);
  EXPECT_NE(answer_refusal(with_local, addr("10.0.0.1")), std::nullopt);

  std::vector<Rule> with_lan = {parse_rule("example.com"), parse_rule("lan")};
  EXPECT_EQ(answer_refusal(with_lan, addr("10.0.0.1")), std::nullopt);
  EXPECT_NE(answer_refusal(with_lan, addr("127.0.0.1")), std::nullopt);

  // An address rule that covers a private address: the program may reach it anyway.
  std::vector<Rule> with_net = {parse_rule("example.com"), parse_rule("10.1.0.0/16:5432/tcp")};
  EXPECT_EQ(answer_refusal(with_net, addr("10.1.2.3")), std::nullopt);
  EXPECT_NE(answer_refusal(with_net, addr("10.2.0.1")), std::nullopt);
}

}  // namespace
}  // namespace sandbox::netpolicy
