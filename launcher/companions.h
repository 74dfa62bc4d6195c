// The programs the launcher runs next to a sandbox, outside it, for as long as it runs:
// xdg-dbus-proxy (the buses a profile grants) and fuse-overlayfs (the home where the kernel
// refuses overlayfs in a user namespace). pasta and sandbox-net are in network.h. Each is
// stopped and reaped when its holder goes, and what it left on disk is removed.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "launcher/spec.h"
#include "launcher/sys.h"

namespace sandbox::launcher {

class DbusProxyRun {
 public:
  DbusProxyRun() = default;
  DbusProxyRun(const DbusProxyRun&) = delete;
  DbusProxyRun& operator=(const DbusProxyRun&) = delete;
  ~DbusProxyRun();  // closes the proxy's --fd (its cue to exit), waits, removes its sockets

  // One xdg-dbus-proxy for every bus the spec proxies, its sockets in a private directory
  // next to the instance records; returns once it listens (its --fd byte). Nothing to do
  // without buses. Throws SetupError.
  void start(const SandboxSpec& spec);
  // bus ("session", "system") -> the proxy's socket on the host
  const std::map<std::string, std::string>& sockets() const { return sockets_; }

 private:
  pid_t pid_ = 0;
  Fd sync_;
  std::string dir_;
  std::map<std::string, std::string> sockets_;
};

class FuseOverlayRun {
 public:
  FuseOverlayRun() = default;
  FuseOverlayRun(const FuseOverlayRun&) = delete;
  FuseOverlayRun& operator=(const FuseOverlayRun&) = delete;
  ~FuseOverlayRun();  // waits for the daemon (it ends with the mount), removes a throwaway layer

  // Serves the child's FUSE mount (mountns.cc, fuse_overlay) on the /dev/fuse fd it sent:
  // outside the sandbox, as the caller, on host paths (an ephemeral home gets a throwaway
  // layer in the hidden state tree). Returns once it has daemonized: "ok" or what went wrong.
  std::string start(const SandboxSpec& spec, const std::vector<int>& fds);

 private:
  std::string throwaway_layer_;
  pid_t daemon_ = 0;  // re-parented to us (we are its subreaper)
};

// Removes a directory the launcher made, without following symlinks; best effort.
void remove_dir_tree(const std::string& dir);

}  // namespace sandbox::launcher
