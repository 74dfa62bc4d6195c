// Runs a SandboxSpec: the one place that knows the order of setup (the stage tables below and
// in init.cc), for a new sandbox and for a command entered into a running one.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "launcher/instance.h"
#include "launcher/spec.h"
#include "launcher/status.h"
#include "launcher/sys.h"

namespace sandbox::launcher {

// Creates the app's persistent layer if needed and takes its lock (see instance.h).
// nullopt: another launcher has the layer mounted. Throws SetupError.
std::optional<Fd> claim_layer(const SandboxSpec& spec);

// Sets up the sandbox, runs the command, waits, and returns the exit status of DESIGN.md:
// the app's own, 128+N for signal N, 126/127 when the command cannot be run / is not found,
// 125 when the launcher failed (after printing one line saying why).
// With `status`, also fills in how it went (--json-status): exit, signal, timeout, limits
// hit, usage, network denials, the setup error.
int run_sandbox(const SandboxSpec& spec, RunStatus* status = nullptr);

// Runs argv inside the running sandbox `target` (its namespaces, and the same restrictions:
// no capabilities, no_new_privs, its seccomp policy, its environment). Same exit statuses.
int enter_sandbox(const InstanceRecord& target, const std::vector<std::string>& argv,
                  bool verbose);

}  // namespace sandbox::launcher
