// Reading the refused packets that the filter's `log group` rule sends over nfnetlink_log
// (NFLOG): the netlink messages, then the IPv4/IPv6 and TCP/UDP headers of the packet's first
// bytes. Pure: no I/O. The bytes come from the kernel, but the packet itself was built by the
// sandboxed program, so every header is bounds-checked.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "netpolicy/rules.h"

namespace sandbox::netpolicy {

struct RefusedPacket {
  uint8_t l4proto = 0;  // IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, ...
  Address destination;
  std::optional<uint16_t> port;  // TCP and UDP, when the header was within the copied bytes
};

// The NFULA_PAYLOAD of every NFULNL_MSG_PACKET message in one datagram read from an NFLOG
// socket (other messages, such as acks, are skipped). Malformed messages end the walk.
std::vector<std::span<const uint8_t>> nflog_payloads(std::span<const uint8_t> datagram);

// Decodes an IP packet's destination and, for TCP and UDP, its destination port. IPv6 extension
// headers (hop-by-hop, routing, destination options, fragment) are skipped. nullopt when the
// bytes are not an IPv4/IPv6 packet.
std::optional<RefusedPacket> decode_ip_packet(std::span<const uint8_t> packet);

// "tcp 203.0.113.20:80", "udp [2001:db8::20]:53", "icmp 203.0.113.20", "proto 132 2001:db8::1".
std::string describe(const RefusedPacket& packet);

}  // namespace sandbox::netpolicy
