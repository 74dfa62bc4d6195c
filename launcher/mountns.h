// The mount namespace: the child builds the new root from the spec's mount plan, then
// pivots into it. Runs in the child, which holds every capability of its new user namespace.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "launcher/spec.h"
#include "launcher/sys.h"

namespace sandbox::launcher {

// Makes the copied mounts slaves (nothing propagates back to the host), puts a scratch tmpfs
// at /tmp and pivots into it, so that the host's root is reachable at /oldroot while the new root is built at /newroot.
// Then applies every step of spec.mounts and pivots into /newroot, detaching everything
// else. Throws SetupError. Reports a step it skipped (optional source missing, nothing to
// hide) through `note` when verbose.
// `console` is the host path of the sandbox's pty (kConsole), or "". Returns an fd on the
// filesystem that holds the home's writes when home.size caps it (else an invalid Fd), so
// that pid 1 can tell at exit whether it filled up.
// `start_fuse` asks the launcher to serve the home's FUSE mount (fd: its /dev/fuse) with
// fuse-overlayfs. Throws SetupError when it could not.
using FuseStarter = std::function<void(const std::vector<int>& fds)>;
// What only exists once the launcher runs: the pty (kConsole) and the D-Bus proxy sockets
// (kDbusSocket), as host paths.
struct RuntimePaths {
  std::string console;
  std::map<std::string, std::string> dbus;  // bus -> socket
};
Fd apply_mounts_in_child(const SandboxSpec& spec, const RuntimePaths& runtime,
                         void (*note)(const std::string&), const FuseStarter& start_fuse);

}  // namespace sandbox::launcher
