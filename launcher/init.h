// The child half of a run: pid 1 of the new pid namespace sets the sandbox up (stage table),
// then stays as a minimal init: it forks the app, forwards signals to it, reaps zombies and
// exits with the app's status.
#pragma once

#include <linux/filter.h>

#include <map>
#include <string>
#include <vector>

#include "launcher/spec.h"

namespace sandbox::launcher {

struct ChildArgs {
  int sock = -1;        // to the parent: errors and log lines
  int pty_slave = -1;   // the app's terminal, or -1 to keep the caller's stdio
  std::string pty_path; // the host path of pty_slave (bound at /dev/console)
  std::map<std::string, std::string> dbus_sockets;  // bus -> the proxy's socket (host path)
  const std::vector<sock_filter>* seccomp = nullptr;
  bool rlimit_fallback = false;  // no cgroup: approximate the memory limit with RLIMIT_AS
  bool wait_for_go = false;      // limits: wait until the parent has put us in our cgroup, then
                                 // make the cgroup namespace (see run.cc)
};

// The signals the launcher and the init forward to the app.
const std::vector<int>& forwarded_signals();

[[noreturn]] void child_main(const SandboxSpec& spec, const ChildArgs& args);

// The child half of `sandbox enter`: joins the namespaces `ns_flags` of the process behind
// `pidfd` (the sandbox's main process), drops every privilege, forks spec.argv into the
// sandbox's pid namespace and relays signals and the exit status for it as pid 1 does.
[[noreturn]] void enter_child_main(const SandboxSpec& spec, const ChildArgs& args, int pidfd,
                                   int ns_flags);

}  // namespace sandbox::launcher
