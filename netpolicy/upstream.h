// The DNS servers sandbox-net forwards allowed questions to: the host's `nameserver` lines
// (resolv.conf(5)), or the debugging option `--upstream ADDR[#PORT]`. Pure: no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "netpolicy/rules.h"

namespace sandbox::netpolicy {

struct Upstream {
  Address address;
  uint16_t port = 53;
  std::string scope;  // an IPv6 link-local server's interface ("fe80::1%eth0"), or empty
};

// Every IPv4 and IPv6 `nameserver` of a resolv.conf text, in order. Lines that are not
// nameservers, comments and unparsable addresses are skipped (the libc resolver does the same).
std::vector<Upstream> parse_resolv_conf(const std::string& text);

// "203.0.113.1", "203.0.113.1#5353", "2001:db8::1#53", "fe80::1%eth0". Throws RuleError.
Upstream parse_upstream(const std::string& text);

// "203.0.113.1#53" style, for messages.
std::string describe(const Upstream& upstream);

}  // namespace sandbox::netpolicy
