// Runs a SandboxSpec: the one place that knows the order of setup (the stage tables below).
#pragma once

#include "launcher/spec.h"

namespace sandbox::launcher {

// Sets up the sandbox, runs the command, waits, and returns the exit status of DESIGN.md:
// the app's own, 128+N for signal N, 126/127 when the command cannot be run / is not found,
// 125 when the launcher failed (after printing one line saying why).
int run_sandbox(const SandboxSpec& spec);

}  // namespace sandbox::launcher
