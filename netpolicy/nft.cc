#include "netpolicy/nft.h"

#include <sys/socket.h>

#include <algorithm>
#include <sstream>

namespace sandbox::netpolicy {
namespace {

std::string ports(const Rule& r) {
  std::string p = std::to_string(r.port_lo);
  if (r.port_hi != r.port_lo) p += "-" + std::to_string(r.port_hi);
  return p;
}

// The transport part of an accept rule: nothing for "any traffic", the protocol alone, or the
// protocol and destination port ("a port without /tcp or /udp" means both).
std::string transport(const Rule& r) {
  const char* proto = r.proto == Proto::kTcp ? "tcp" : r.proto == Proto::kUdp ? "udp" : nullptr;
  if (r.port_lo == 0) return proto ? std::string(" meta l4proto ") + proto : std::string();
  if (proto) return std::string(" ") + proto + " dport " + ports(r);
  return " meta l4proto { tcp, udp } th dport " + ports(r);
}

std::string network_match(const Address& a, int prefix) {
  int full = a.family == AF_INET ? 32 : 128;
  std::string text = (a.family == AF_INET ? "ip daddr " : "ip6 daddr ") + format_address(a);
  if (prefix != full) text += "/" + std::to_string(prefix);
  return text;
}

bool is_name_rule(const Rule& r) {
  return r.kind == Rule::Kind::kName || r.kind == Rule::Kind::kWildcard;
}

// An IPv4-mapped AAAA answer (::ffff:a.b.c.d) is reached over IPv4: it goes to the IPv4 set.
Address element_address(const Address& a) {
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (a.family != AF_INET6 || !std::equal(kMapped, kMapped + 12, a.bytes.begin())) return a;
  Address v4{AF_INET, {}};
  std::copy(a.bytes.begin() + 12, a.bytes.end(), v4.bytes.begin());
  return v4;
}

}  // namespace

std::string set_name(size_t index, int family) {
  return "n" + std::to_string(index) + (family == AF_INET ? "_4" : "_6");
}

std::string ruleset(const std::vector<Rule>& rules, uint16_t log_group) {
  std::ostringstream out;
  // "table ... {}" creates the table when missing, so that the delete cannot fail.
  out << "table inet " << kTableName << " {}\n"
      << "delete table inet " << kTableName << "\n"
      << "table inet " << kTableName << " {\n";
  for (size_t i = 0; i < rules.size(); ++i) {
    if (!is_name_rule(rules[i])) continue;
    out << "  # " << rules[i].text << "\n";
    out << "  set " << set_name(i, AF_INET) << " { type ipv4_addr; flags timeout; }\n";
    out << "  set " << set_name(i, AF_INET6) << " { type ipv6_addr; flags timeout; }\n";
  }
  out << "  chain output {\n"
      << "    type filter hook output priority filter; policy drop;\n"
      << "    oifname \"lo\" accept\n"
      << "    ct state established,related accept\n"
      // Without neighbour discovery IPv6 cannot reach even the allowed hosts (RFC 4861). The
      // kernel sends multicast listener reports whenever an interface comes up (RFC 3810);
      // they stay on the link, and refusing them would only fill the denial log.
      << "    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, "
         "mld-listener-report, mld2-listener-report } accept\n";
  for (size_t i = 0; i < rules.size(); ++i) {
    const Rule& r = rules[i];
    switch (r.kind) {
      case Rule::Kind::kAddress:
        out << "    " << network_match(Address{r.family, r.addr}, r.prefix) << transport(r) << " accept\n";
        break;
      case Rule::Kind::kLan:
        for (const Network& n : lan_networks()) {
          out << "    " << network_match(n.network, n.prefix) << transport(r) << " accept\n";
        }
        break;
      case Rule::Kind::kName:
      case Rule::Kind::kWildcard:
        out << "    ip daddr @" << set_name(i, AF_INET) << transport(r) << " accept\n";
        out << "    ip6 daddr @" << set_name(i, AF_INET6) << transport(r) << " accept\n";
        break;
      case Rule::Kind::kLocalhost:
        break;  // the sandbox's own loopback, which pasta forwards to the host's (-T/-U)
    }
  }
  // The limit keeps a program that floods refused packets from flooding the log reader; the
  // packets are rejected all the same.
  out << "    limit rate 50/second burst 100 packets log group " << log_group << "\n"
      << "    meta l4proto tcp reject with tcp reset\n"
      << "    reject with icmpx admin-prohibited\n"
      << "  }\n"
      << "}\n";
  return out.str();
}

std::string add_elements(const std::vector<Rule>& rules, const std::string& qname,
                         const std::vector<ResolvedAddress>& answers) {
  std::ostringstream out;
  for (size_t i = 0; i < rules.size(); ++i) {
    if (!is_name_rule(rules[i]) || !name_matches(rules[i], qname)) continue;
    for (const ResolvedAddress& answer : answers) {
      Address a = element_address(answer.address);
      if (a.family != AF_INET && a.family != AF_INET6) continue;
      uint32_t timeout = std::clamp(answer.ttl, kMinTimeoutSeconds, kMaxTimeoutSeconds);
      std::string set = std::string("inet ") + kTableName + " " + set_name(i, a.family);
      std::string elem = format_address(a);
      out << "add element " << set << " { " << elem << " timeout " << timeout << "s }\n"
          << "delete element " << set << " { " << elem << " }\n"
          << "add element " << set << " { " << elem << " timeout " << timeout << "s }\n";
    }
  }
  return out.str();
}

}  // namespace sandbox::netpolicy
