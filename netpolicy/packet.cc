#include "netpolicy/packet.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace sandbox::netpolicy {
namespace {

uint16_t get16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

// The destination port of a TCP or UDP header at `l4`, when it was copied.
std::optional<uint16_t> dport(std::span<const uint8_t> packet, size_t l4) {
  if (l4 > packet.size() || packet.size() - l4 < 4) return std::nullopt;
  return get16(packet.data() + l4 + 2);
}

}  // namespace

std::vector<std::span<const uint8_t>> nflog_payloads(std::span<const uint8_t> datagram) {
  std::vector<std::span<const uint8_t>> out;
  size_t off = 0;
  while (datagram.size() - off >= sizeof(nlmsghdr)) {
    nlmsghdr h;
    std::memcpy(&h, datagram.data() + off, sizeof h);
    if (h.nlmsg_len < sizeof h || h.nlmsg_len > datagram.size() - off) break;
    std::span<const uint8_t> msg = datagram.subspan(off, h.nlmsg_len);
    off += std::min<size_t>(NLMSG_ALIGN(h.nlmsg_len), datagram.size() - off);
    if (h.nlmsg_type != (NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_PACKET)) continue;
    size_t a = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
    while (a < msg.size() && msg.size() - a >= sizeof(nlattr)) {
      nlattr attr;
      std::memcpy(&attr, msg.data() + a, sizeof attr);
      if (attr.nla_len < sizeof attr || attr.nla_len > msg.size() - a) break;
      if ((attr.nla_type & NLA_TYPE_MASK) == NFULA_PAYLOAD) {
        out.push_back(msg.subspan(a + NLA_HDRLEN, attr.nla_len - NLA_HDRLEN));
        break;
      }
      a += NLA_ALIGN(attr.nla_len);
    }
  }
  return out;
}

std::optional<RefusedPacket> decode_ip_packet(std::span<const uint8_t> packet) {
  if (packet.empty()) return std::nullopt;
  RefusedPacket out;
  size_t l4 = 0;
  int version = packet[0] >> 4;
  if (version == 4) {
    if (packet.size() < 20) return std::nullopt;
    size_t ihl = (packet[0] & 0xf) * 4u;
    if (ihl < 20) return std::nullopt;
    out.l4proto = packet[9];
    out.destination.family = AF_INET;
    std::copy(packet.begin() + 16, packet.begin() + 20, out.destination.bytes.begin());
    // Only the first fragment carries the transport header.
    bool later_fragment = (get16(packet.data() + 6) & 0x1fff) != 0;
    if (later_fragment) return out;
    l4 = ihl;
  } else if (version == 6) {
    if (packet.size() < 40) return std::nullopt;
    out.destination.family = AF_INET6;
    std::copy(packet.begin() + 24, packet.begin() + 40, out.destination.bytes.begin());
    uint8_t next = packet[6];
    l4 = 40;
    // At most a few extension headers (RFC 8200 4.1 order): enough for real traffic, and the
    // walk is bounded whatever the program sends.
    for (int i = 0; i < 8; ++i) {
      if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS) {
        if (packet.size() < l4 + 2) {
          out.l4proto = next;
          return out;
        }
        uint8_t following = packet[l4];
        l4 += (packet[l4 + 1] + 1u) * 8u;
        next = following;
      } else if (next == IPPROTO_FRAGMENT) {
        if (packet.size() < l4 + 8) {
          out.l4proto = next;
          return out;
        }
        uint8_t following = packet[l4];
        bool later_fragment = (get16(packet.data() + l4 + 2) & 0xfff8) != 0;
        l4 += 8;
        next = following;
        if (later_fragment) {
          out.l4proto = next;
          return out;
        }
      } else {
        break;
      }
    }
    out.l4proto = next;
  } else {
    return std::nullopt;
  }
  if (out.l4proto == IPPROTO_TCP || out.l4proto == IPPROTO_UDP) out.port = dport(packet, l4);
  return out;
}

std::string describe(const RefusedPacket& p) {
  std::string proto;
  switch (p.l4proto) {
    case IPPROTO_TCP:
      proto = "tcp";
      break;
    case IPPROTO_UDP:
      proto = "udp";
      break;
    case IPPROTO_ICMP:
      proto = "icmp";
      break;
    case IPPROTO_ICMPV6:
      proto = "icmpv6";
      break;
    default:
      proto = "proto " + std::to_string(p.l4proto);
  }
  if (p.port) return proto + " " + format_endpoint(p.destination, *p.port);
  return proto + " " + format_address(p.destination);
}

}  // namespace sandbox::netpolicy
