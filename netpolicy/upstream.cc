#include "netpolicy/upstream.h"

#include <sys/socket.h>

#include <sstream>

namespace sandbox::netpolicy {

Upstream parse_upstream(const std::string& text) {
  Upstream u;
  std::string addr = text;
  size_t hash = addr.find('#');
  if (hash != std::string::npos) {
    std::string port = addr.substr(hash + 1);
    addr.erase(hash);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(port) < 1 || std::stoul(port) > 65535) {
      throw RuleError("upstream \"" + text + "\": the port after '#' is not a number from 1 to 65535");
    }
    u.port = static_cast<uint16_t>(std::stoul(port));
  }
  size_t percent = addr.find('%');
  if (percent != std::string::npos) {
    u.scope = addr.substr(percent + 1);
    addr.erase(percent);
  }
  std::optional<Address> a = parse_address(addr);
  if (!a || (!u.scope.empty() && a->family != AF_INET6) ||
      (percent != std::string::npos && u.scope.empty())) {
    throw RuleError("upstream \"" + text + "\": not an IPv4 or IPv6 address (ADDR, ADDR#PORT or IPV6%IFACE)");
  }
  u.address = *a;
  return u;
}

std::vector<Upstream> parse_resolv_conf(const std::string& text) {
  std::vector<Upstream> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string keyword, value;
    if (!(words >> keyword >> value) || keyword != "nameserver") continue;
    if (value.find('#') != std::string::npos) continue;  // not resolv.conf syntax
    try {
      out.push_back(parse_upstream(value));
    } catch (const RuleError&) {
      // skipped, as the libc resolver does
    }
  }
  return out;
}

std::string describe(const Upstream& u) {
  std::string addr = format_address(u.address);
  if (!u.scope.empty()) addr += "%" + u.scope;
  return addr + "#" + std::to_string(u.port);
}

}  // namespace sandbox::netpolicy
