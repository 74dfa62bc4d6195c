// The systemd user manager backend for limits: a transient scope per sandbox
// (sandbox-APP-xxxxxx.scope) with the limits as unit properties and Delegate=yes, made over
// D-Bus with sd-bus, as `systemd-run --user --scope` would, without shelling out.
// libsystemd is opened with dlopen() only when a sandbox has limits: launches without limits
// pay nothing for it, and a machine without libsystemd simply lacks this backend.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "profiles/profile.h"

namespace sandbox::launcher {

// The unit properties for `limits`, as (name, D-Bus signature, value). Pure.
//   MemoryMax t, MemorySwapMax t 0, CPUQuotaPerSecUSec t (cores x 1 s), TasksMax t,
//   IOWeight t, Delegate b, CollectMode s "inactive-or-failed", Description s.
struct ScopeProperty {
  std::string name;
  char type;  // 't', 'b', 's'
  unsigned long long number = 0;
  std::string text;
};
std::vector<ScopeProperty> scope_properties(const profiles::Limits& limits, const std::string& description);

// Starts the scope `unit` with process `pid` in it, and waits until systemd has moved it
// there. Returns "" on success, else why not (no user manager, no libsystemd, refused, ...).
std::string start_scope(const std::string& unit, pid_t pid, const profiles::Limits& limits,
                        const std::string& description);

}  // namespace sandbox::launcher
