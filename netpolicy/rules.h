// The network policy's allow-rules (`network.allow` in profiles, `--allow RULE` on the command
// line) and the address facts the filter and the DNS resolver decide with. Pure: no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sandbox::netpolicy {

enum class Proto { kAny, kTcp, kUdp };

// One IPv4 or IPv6 address. IPv4 uses the first 4 bytes; `family` is AF_INET or AF_INET6.
struct Address {
  int family = 0;
  std::array<uint8_t, 16> bytes{};
  bool operator==(const Address&) const = default;
  auto operator<=>(const Address&) const = default;
};

// An A or AAAA answer with its time to live, in seconds.
struct ResolvedAddress {
  Address address;
  uint32_t ttl = 0;
};

struct Rule {
  enum class Kind { kName, kWildcard, kAddress, kLocalhost, kLan };
  Kind kind = Kind::kName;
  std::string text;  // exactly as the user wrote it, for messages
  std::string name;  // kName: the host; kWildcard: the suffix after "*." (lower case, no final dot)
  int family = 0;    // kAddress: AF_INET or AF_INET6
  std::array<uint8_t, 16> addr{};     // kAddress: the network address (host bits are zero)
  int prefix = 0;                     // kAddress: prefix length (32 or 128 for one address)
  uint16_t port_lo = 0, port_hi = 0;  // 0,0 = any port
  Proto proto = Proto::kAny;
};

// What is wrong with a rule, and the forms that are accepted, in one line.
class RuleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The accepted forms, for error messages and help texts.
extern const char* const kAcceptedForms;

// Parses one rule (see man/sandbox-profile.5, network.allow). Throws RuleError.
Rule parse_rule(const std::string& text);

// Whether a DNS question name (any case, optional final dot) is allowed by a kName or kWildcard
// rule. `*.example.com` matches sub-domains at any depth but not example.com itself.
bool name_matches(const Rule& rule, const std::string& qname);

// Lower-cases a host name and drops one final dot.
std::string normalize_name(const std::string& name);

// Host name syntax: labels of a-z, 0-9 and '-' (not first or last), 1..63 long, 253 in all.
// Returns what is wrong, or an empty string.
std::string host_name_problem(const std::string& name);

// Address parsing and printing ("2001:db8::1", no brackets). parse_address() accepts only the
// plain dotted-quad and RFC 4291 text forms (inet_pton).
std::optional<Address> parse_address(const std::string& text);
std::string format_address(const Address& address);
// "203.0.113.5:80", "[2001:db8::1]:53".
std::string format_endpoint(const Address& address, uint16_t port);

// Classification. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) count as their IPv4 address.
bool is_loopback(const Address& a);     // 127.0.0.0/8, ::1
bool is_unspecified(const Address& a);  // 0.0.0.0/8 ("this host"), ::
bool is_lan(const Address& a);  // 10/8, 172.16/12, 192.168/16, 100.64/10, 169.254/16, fc00::/7, fe80::/10
// Whether `a` lies in the network `network/prefix` (same family).
bool in_network(const Address& a, const Address& network, int prefix);

// The private ranges of the `lan` preset, as (network, prefix).
struct Network {
  Address network;
  int prefix = 0;
};
const std::vector<Network>& lan_networks();

// DNS rebinding protection: why a DNS answer address must not be let through for these
// rules, or nullopt when it may. Loopback and unspecified answers need a `localhost:PORT`
// rule; private ones need `lan` or an address rule that covers them.
std::optional<std::string> answer_refusal(const std::vector<Rule>& rules, const Address& a);

}  // namespace sandbox::netpolicy
