// xdg-dbus-proxy: one process per sandbox filters the session and/or system bus by the
// profile's `dbus` rules; the sandbox sees only the proxy's sockets. The argv is pure.
#pragma once

#include <string>
#include <vector>

#include "profiles/profile.h"

namespace sandbox::desktop {

struct BusProxy {
  std::string bus;          // "session" or "system"
  std::string address;      // the host bus, "unix:path=..." (a D-Bus address)
  std::string socket;       // where the proxy listens (host path)
  std::string inside;       // where the sandbox sees that socket
  profiles::DbusPolicy policy;
};

// `xdg-dbus-proxy --fd=SYNC_FD ADDRESS SOCKET --filter --talk=... ...` for every bus, in one
// process. With --fd the proxy writes a byte when its sockets listen, and exits when that fd
// closes: it ends with the launcher, however the launcher ends.
std::vector<std::string> proxy_argv(const std::string& program, const std::vector<BusProxy>& buses,
                                    int sync_fd);

// The D-Bus address the sandbox uses for a proxied bus.
std::string inside_address(const BusProxy& bus);

}  // namespace sandbox::desktop
