#include "desktop/dbus_proxy.h"

namespace sandbox::desktop {

std::vector<std::string> proxy_argv(const std::string& program, const std::vector<BusProxy>& buses,
                                    int sync_fd) {
  std::vector<std::string> argv = {program, "--fd=" + std::to_string(sync_fd)};
  for (const auto& b : buses) {
    argv.push_back(b.address);
    argv.push_back(b.socket);
    // Always filtered: an empty rule list lets the app talk to the bus itself and nothing
    // else (no names visible, none ownable).
    argv.push_back("--filter");
    for (const auto& n : b.policy.see) argv.push_back("--see=" + n);
    for (const auto& n : b.policy.talk) argv.push_back("--talk=" + n);
    for (const auto& n : b.policy.own) argv.push_back("--own=" + n);
    for (const auto& r : b.policy.call) argv.push_back("--call=" + r);
    for (const auto& r : b.policy.broadcast) argv.push_back("--broadcast=" + r);
  }
  return argv;
}

std::string inside_address(const BusProxy& bus) { return "unix:path=" + bus.inside; }

}  // namespace sandbox::desktop
