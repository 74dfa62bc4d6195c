#include "netpolicy/rules.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>

namespace sandbox::netpolicy {

const char* const kAcceptedForms =
    "accepted forms: example.com, *.example.com, 203.0.113.5, 203.0.113.0/24, 2001:db8::1, "
    "2001:db8::/32, lan, localhost:PORT; each may end with :PORT or :PORT-PORT (an IPv6 "
    "address then in brackets: [2001:db8::1]:443) and with /tcp or /udp";

namespace {

[[noreturn]] void fail(const std::string& text, const std::string& what) {
  throw RuleError("network rule \"" + text + "\": " + what + " (" + kAcceptedForms + ")");
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// "PORT" or "PORT-PORT", 1..65535.
void parse_ports(const std::string& text, const std::string& spec, Rule& rule) {
  auto one = [&](const std::string& p) -> uint16_t {
    if (!all_digits(p) || p.size() > 5) fail(text, "port \"" + p + "\" is not a number from 1 to 65535");
    unsigned long v = std::stoul(p);
    if (v < 1 || v > 65535) fail(text, "port " + p + " is out of range (1 to 65535)");
    return static_cast<uint16_t>(v);
  };
  if (spec.empty()) fail(text, "the port after ':' is missing");
  size_t dash = spec.find('-');
  if (dash == std::string::npos) {
    rule.port_lo = rule.port_hi = one(spec);
    return;
  }
  rule.port_lo = one(spec.substr(0, dash));
  rule.port_hi = one(spec.substr(dash + 1));
  if (rule.port_lo > rule.port_hi) fail(text, "port range " + spec + " runs backwards");
}

// "ADDR" or "ADDR/PREFIX" for one family; the host bits must be zero.
void parse_network(const std::string& text, const std::string& host, int family, Rule& rule) {
  const char* fam = family == AF_INET ? "IPv4" : "IPv6";
  int max_prefix = family == AF_INET ? 32 : 128;
  size_t slash = host.find('/');
  std::string addr_text = host.substr(0, slash);
  std::optional<Address> a = parse_address(addr_text);
  if (!a || a->family != family) fail(text, "\"" + addr_text + "\" is not a valid " + fam + " address");
  rule.kind = Rule::Kind::kAddress;
  rule.family = family;
  rule.addr = a->bytes;
  rule.prefix = max_prefix;
  if (slash == std::string::npos) return;
  std::string p = host.substr(slash + 1);
  if (!all_digits(p) || p.size() > 3 || std::stoi(p) > max_prefix) {
    fail(text, "prefix length \"" + p + "\" is not a number from 0 to " + std::to_string(max_prefix));
  }
  rule.prefix = std::stoi(p);
  Address masked = *a;
  for (int bit = rule.prefix; bit < max_prefix; ++bit) masked.bytes[bit / 8] &= ~(0x80 >> (bit % 8));
  if (masked != *a) {
    fail(text, "the address has bits set beyond the /" + p + " prefix; did you mean " +
                   format_address(masked) + "/" + p + "?");
  }
}

// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as its IPv4 address; anything else unchanged.
Address unmap(const Address& a) {
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (a.family != AF_INET6 || !std::equal(kMapped, kMapped + 12, a.bytes.begin())) return a;
  Address v4;
  v4.family = AF_INET;
  std::copy(a.bytes.begin() + 12, a.bytes.end(), v4.bytes.begin());
  return v4;
}

Network net(const char* text, int prefix) {
  return Network{*parse_address(text), prefix};
}

}  // namespace

std::string normalize_name(const std::string& name) {
  std::string s = lower(name);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::string host_name_problem(const std::string& name) {
  if (name.empty()) return "the host name is empty";
  if (name.size() > 253) return "the host name is longer than 253 characters";
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string::npos) end = name.size();
    std::string label = name.substr(start, end - start);
    if (label.empty()) return "the host name has an empty label (two dots in a row, or a leading dot)";
    if (label.size() > 63) return "the label \"" + label + "\" is longer than 63 characters";
    for (unsigned char c : label) {
      if (!std::islower(c) && !std::isdigit(c) && c != '-') {
        return "the label \"" + label + "\" has a character other than a-z, 0-9 and '-'";
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return "the label \"" + label + "\" starts or ends with '-'";
    }
    start = end + 1;
  }
  return {};
}

Rule parse_rule(const std::string& text) {
  if (text.empty()) fail(text, "the rule is empty");
  for (unsigned char c : text) {
    if (std::isspace(c) || !std::isprint(c)) fail(text, "the rule contains a space or control character");
  }
  Rule rule;
  rule.text = text;
  std::string s = text;

  // Protocol suffix. A '/' followed by letters can only be a protocol (a prefix is digits).
  size_t slash = s.rfind('/');
  if (slash != std::string::npos && slash + 1 < s.size() &&
      std::isalpha(static_cast<unsigned char>(s[slash + 1]))) {
    std::string p = lower(s.substr(slash + 1));
    if (p == "tcp") {
      rule.proto = Proto::kTcp;
    } else if (p == "udp") {
      rule.proto = Proto::kUdp;
    } else {
      fail(text, "unknown protocol \"" + s.substr(slash + 1) + "\": use /tcp or /udp");
    }
    s.erase(slash);
  }

  // Host and port.
  std::string host, port;
  bool bracketed = false, has_port = false;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string::npos) fail(text, "'[' without a matching ']'");
    host = s.substr(1, close - 1);
    std::string rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') fail(text, "after ']' only :PORT may follow");
      port = rest.substr(1);
      has_port = true;
    }
    bracketed = true;
  } else {
    size_t colons = std::count(s.begin(), s.end(), ':');
    if (colons == 1) {
      size_t colon = s.find(':');
      host = s.substr(0, colon);
      port = s.substr(colon + 1);
      has_port = true;
    } else {
      host = s;  // no port, or an IPv6 address (whose port would need brackets)
    }
  }
  if (has_port) parse_ports(text, port, rule);
  if (host.empty()) fail(text, "the host or address is missing");
  host = lower(host);

  if (bracketed && host.find(':') == std::string::npos) {
    fail(text, "brackets are only for IPv6 addresses");
  }
  if (host == "lan") {
    rule.kind = Rule::Kind::kLan;
  } else if (host == "localhost") {
    rule.kind = Rule::Kind::kLocalhost;
    if (rule.port_lo == 0)
      fail(text, "localhost needs a port: localhost:PORT, the port on the host's loopback");
  } else if (host.find(':') != std::string::npos) {
    if (!bracketed && parse_address(host.substr(0, host.find('/'))) == std::nullopt) {
      std::string hint = host.find('/') == std::string::npos
                             ? "; an IPv6 address with a port is written [2001:db8::1]:443"
                             : "";
      fail(text, "\"" + host + "\" is not a valid IPv6 address or network" + hint);
    }
    parse_network(text, host, AF_INET6, rule);
  } else if (host.find('/') != std::string::npos ||
             host.find_first_not_of("0123456789.") == std::string::npos) {
    parse_network(text, host, AF_INET, rule);
  } else {
    std::string name = host;
    if (name.rfind("*.", 0) == 0) {
      rule.kind = Rule::Kind::kWildcard;
      name = name.substr(2);
    } else {
      rule.kind = Rule::Kind::kName;
    }
    if (host == "*") fail(text, "'*' alone is not a rule; to allow every host use network.mode: host");
    if (name.find('*') != std::string::npos)
      fail(text, "'*' may only stand alone as the first label, as in *.example.com");
    name = normalize_name(name);
    if (std::string problem = host_name_problem(name); !problem.empty()) fail(text, problem);
    rule.name = name;
  }
  return rule;
}

bool name_matches(const Rule& rule, const std::string& qname) {
  std::string q = normalize_name(qname);
  switch (rule.kind) {
    case Rule::Kind::kName:
      return q == rule.name;
    case Rule::Kind::kWildcard:
      return q.size() > rule.name.size() + 1 && q.ends_with(rule.name) &&
             q[q.size() - rule.name.size() - 1] == '.';
    default:
      return false;
  }
}

std::optional<Address> parse_address(const std::string& text) {
  Address a;
  if (inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET6;
    return a;
  }
  return std::nullopt;
}

std::string format_address(const Address& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.family != AF_INET && a.family != AF_INET6) return "?";
  inet_ntop(a.family, a.bytes.data(), buf, sizeof buf);
  return buf;
}

std::string format_endpoint(const Address& a, uint16_t port) {
  std::string addr = format_address(a);
  if (a.family == AF_INET6) addr = "[" + addr + "]";
  return addr + ":" + std::to_string(port);
}

bool in_network(const Address& a, const Address& network, int prefix) {
  if (a.family != network.family) return false;
  for (int bit = 0; bit < prefix; ++bit) {
    uint8_t m = 0x80 >> (bit % 8);
    if ((a.bytes[bit / 8] & m) != (network.bytes[bit / 8] & m)) return false;
  }
  return true;
}

bool is_loopback(const Address& address) {
  Address a = unmap(address);
  if (a.family == AF_INET) return a.bytes[0] == 127;
  return a.family == AF_INET6 && a == *parse_address("::1");
}

bool is_unspecified(const Address& address) {
  Address a = unmap(address);
  if (a.family == AF_INET) return a.bytes[0] == 0;
  return a.family == AF_INET6 && a == *parse_address("::");
}

const std::vector<Network>& lan_networks() {
  static const std::vector<Network> kLan = {
      net("10.0.0.0", 8),     net("172.16.0.0", 12), net("192.168.0.0", 16), net("100.64.0.0", 10),
      net("169.254.0.0", 16), net("fc00::", 7),      net("fe80::", 10)};
  return kLan;
}

bool is_lan(const Address& address) {
  Address a = unmap(address);
  return std::any_of(lan_networks().begin(), lan_networks().end(),
                     [&](const Network& n) { return in_network(a, n.network, n.prefix); });
}

std::optional<std::string> answer_refusal(const std::vector<Rule>& rules, const Address& address) {
  Address a = unmap(address);
  auto any = [&](Rule::Kind k) {
    return std::any_of(rules.begin(), rules.end(), [&](const Rule& r) { return r.kind == k; });
  };
  // An address the user allowed explicitly is no rebinding: the app may reach it anyway.
  auto covered = [&] {
    return std::any_of(rules.begin(), rules.end(), [&](const Rule& r) {
      if (r.kind != Rule::Kind::kAddress) return false;
      Address n{r.family, r.addr};
      return in_network(a, n, r.prefix) || in_network(address, n, r.prefix);
    });
  };
  if (is_loopback(a) || is_unspecified(a)) {
    if (any(Rule::Kind::kLocalhost) || covered()) return std::nullopt;
    return "loopback or private address";
  }
  if (is_lan(a) && !any(Rule::Kind::kLan) && !covered()) return "loopback or private address";
  return std::nullopt;
}

}  // namespace sandbox::netpolicy
