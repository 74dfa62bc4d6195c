// The denial log's inputs and lines: NFLOG messages, IP headers, timestamps, the repeat
// filter, and the resolv.conf reader.
#include <gtest/gtest.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "netpolicy/denials.h"
#include "netpolicy/packet.h"
#include "netpolicy/upstream.h"

namespace sandbox::netpolicy {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes ipv4_tcp(const char* dst, uint16_t port) {
  Bytes p(40, 0);
  p[0] = 0x45;
  p[9] = IPPROTO_TCP;
  Address a = *parse_address(dst);
  std::copy(a.bytes.begin(), a.bytes.begin() + 4, p.begin() + 16);
  p[22] = static_cast<uint8_t>(port >> 8);
  p[23] = static_cast<uint8_t>(port);
  return p;
}

Bytes ipv6_udp(const char* dst, uint16_t port, bool with_hop_by_hop) {
  Bytes p(40, 0);
  p[0] = 0x60;
  p[6] = static_cast<uint8_t>(with_hop_by_hop ? int{IPPROTO_HOPOPTS} : int{IPPROTO_UDP});
  Address a = *parse_address(dst);
  std::copy(a.bytes.begin(), a.bytes.end(), p.begin() + 24);
  if (with_hop_by_hop) {
    Bytes ext(8, 0);
    ext[0] = IPPROTO_UDP;
    p.insert(p.end(), ext.begin(), ext.end());
  }
  Bytes udp = {0x12, 0x34, static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port), 0, 8, 0, 0};
  p.insert(p.end(), udp.begin(), udp.end());
  return p;
}

void put_attr(Bytes& msg, uint16_t type, const Bytes& data) {
  nlattr a{static_cast<uint16_t>(NLA_HDRLEN + data.size()), type};
  size_t at = msg.size();
  msg.resize(at + NLA_ALIGN(a.nla_len));
  std::memcpy(msg.data() + at, &a, sizeof a);
  std::copy(data.begin(), data.end(), msg.begin() + static_cast<long>(at + NLA_HDRLEN));
}

Bytes nflog_message(const Bytes& payload, uint16_t type = NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_PACKET) {
  Bytes m(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg)), 0);
  put_attr(m, NFULA_PREFIX, {'x', 0});
  put_attr(m, NFULA_PAYLOAD, payload);
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(m.size());
  h.nlmsg_type = type;
  std::memcpy(m.data(), &h, sizeof h);
  return m;
}

TEST(NetpolicyPacket, DecodesTcpOverIpv4) {
  std::optional<RefusedPacket> p = decode_ip_packet(ipv4_tcp("203.0.113.20", 80));
  ASSERT_TRUE(p);
  EXPECT_EQ(describe(*p), "tcp 203.0.113.20:80");
}

TEST(NetpolicyPacket, DecodesUdpOverIpv6WithExtensionHeader) {
  EXPECT_EQ(describe(*decode_ip_packet(ipv6_udp("2001:db8::20", 53, false))), "udp [2001:db8::20]:53");
  EXPECT_EQ(describe(*decode_ip_packet(ipv6_udp("2001:db8::20", 53, true))), "udp [2001:db8::20]:53");
}

TEST(NetpolicyPacket, ShortAndOddPackets) {
  EXPECT_FALSE(decode_ip_packet({}));
  EXPECT_FALSE(decode_ip_packet(Bytes(19, 0x45)));
  EXPECT_FALSE(decode_ip_packet(Bytes(60, 0x55)));  // version 5
  Bytes bad_ihl = ipv4_tcp("203.0.113.20", 80);
  bad_ihl[0] = 0x44;
  EXPECT_FALSE(decode_ip_packet(bad_ihl));
  // The TCP header was not copied: the address alone.
  Bytes cut = ipv4_tcp("203.0.113.20", 80);
  cut.resize(21);
  EXPECT_EQ(describe(*decode_ip_packet(cut)), "tcp 203.0.113.20");
  // A huge IHL points past the end.
  Bytes far = ipv4_tcp("203.0.113.20", 80);
  far[0] = 0x4f;
  EXPECT_EQ(describe(*decode_ip_packet(far)), "tcp 203.0.113.20");
  Bytes icmp = ipv4_tcp("203.0.113.20", 80);
  icmp[9] = IPPROTO_ICMP;
  EXPECT_EQ(describe(*decode_ip_packet(icmp)), "icmp 203.0.113.20");
  // Hop-by-hop headers that chain forever are cut off after a few.
  Bytes chain(40, 0);
  chain[0] = 0x60;
  chain[6] = IPPROTO_HOPOPTS;
  for (int i = 0; i < 20; ++i) chain.insert(chain.end(), {IPPROTO_HOPOPTS, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_TRUE(decode_ip_packet(chain));
}

TEST(NetpolicyPacket, NflogMessagesYieldTheirPayloads) {
  Bytes a = nflog_message(ipv4_tcp("203.0.113.20", 80));
  Bytes ack = nflog_message({1, 2, 3}, NLMSG_ERROR);
  Bytes b = nflog_message(ipv6_udp("2001:db8::20", 53, false));
  Bytes datagram = a;
  datagram.insert(datagram.end(), ack.begin(), ack.end());
  datagram.insert(datagram.end(), b.begin(), b.end());
  auto payloads = nflog_payloads(datagram);
  ASSERT_EQ(payloads.size(), 2u);
  EXPECT_EQ(describe(*decode_ip_packet(payloads[0])), "tcp 203.0.113.20:80");
  EXPECT_EQ(describe(*decode_ip_packet(payloads[1])), "udp [2001:db8::20]:53");

  // Truncated or lying lengths end the walk without reading past the end.
  for (size_t n = 0; n < a.size(); ++n) nflog_payloads(std::span<const uint8_t>(a.data(), n));
  Bytes liar = a;
  liar[NLMSG_HDRLEN + 4] = 0xff;  // the first attribute's length
  EXPECT_TRUE(nflog_payloads(liar).empty());
}

TEST(NetpolicyDenials, LinesAndTimestamps) {
  timespec t{1796412600, 123456789};  // 2026-12-04T19:30:00.123Z
  EXPECT_EQ(log_time(t), "2026-12-04T19:30:00.123Z");
  EXPECT_EQ(refused_line(t, dns_not_allowed("blocked.test", 1)),
            "2026-12-04T19:30:00.123Z refused dns blocked.test (A): not allowed\n");
  EXPECT_EQ(
      refused_line(t, dns_rebind("rebind.test", *parse_address("127.0.0.1"), "loopback or private address")),
      "2026-12-04T19:30:00.123Z refused dns rebind.test -> 127.0.0.1: loopback or private address\n");
  EXPECT_EQ(dns_not_allowed("", 2), "dns . (NS): not allowed");
}

TEST(NetpolicyDenials, RepeatFilterWritesOneLinePerSecond) {
  RepeatFilter f(1000, 3);
  EXPECT_TRUE(f.should_log("tcp a", 0));
  EXPECT_FALSE(f.should_log("tcp a", 999));
  EXPECT_TRUE(f.should_log("tcp b", 999));
  EXPECT_TRUE(f.should_log("tcp a", 1000));
  EXPECT_TRUE(f.should_log("tcp c", 1001));
  // Full: a new key evicts; keys outside the window go first.
  EXPECT_TRUE(f.should_log("tcp d", 2500));
  EXPECT_TRUE(f.should_log("tcp e", 2501));
  EXPECT_FALSE(f.should_log("tcp d", 2600));
}

TEST(NetpolicyUpstream, ResolvConf) {
  std::vector<Upstream> u = parse_resolv_conf(
      "# comment\nsearch example.com\nnameserver 10.255.255.53\nnameserver  2001:db8::53\n"
      "nameserver fe80::1%eth0\nnameserver bogus\nnameserver 127.0.0.1#5353\noptions ndots:2\n");
  ASSERT_EQ(u.size(), 3u);
  EXPECT_EQ(describe(u[0]), "10.255.255.53#53");
  EXPECT_EQ(describe(u[1]), "2001:db8::53#53");
  EXPECT_EQ(describe(u[2]), "fe80::1%eth0#53");
  EXPECT_TRUE(parse_resolv_conf("search x\n").empty());
}

TEST(NetpolicyUpstream, DebugOption) {
  EXPECT_EQ(describe(parse_upstream("127.0.0.1#5353")), "127.0.0.1#5353");
  EXPECT_EQ(describe(parse_upstream("::1")), "::1#53");
  EXPECT_THROW(parse_upstream("127.0.0.1#0"), RuleError);
  EXPECT_THROW(parse_upstream("127.0.0.1#"), RuleError);
  EXPECT_THROW(parse_upstream("127.0.0.1%eth0"), RuleError);
  EXPECT_THROW(parse_upstream("fe80::1%"), RuleError);
  EXPECT_THROW(parse_upstream("example.com"), RuleError);
}

}  // namespace
}  // namespace sandbox::netpolicy
