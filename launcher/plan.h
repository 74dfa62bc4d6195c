// The planner: Invocation + Profile + HostFacts -> SandboxSpec. Pure: no syscalls that change
// anything, so `sandbox explain`, `--dry-run` and the unit tests see exactly what runs.
#pragma once

#include <stdexcept>
#include <string>

#include "desktop/passthrough.h"
#include "launcher/cli.h"
#include "launcher/host_facts.h"
#include "launcher/spec.h"
#include "profiles/profile.h"

namespace sandbox::launcher {

// A problem with what the user asked for (not with the host): exit 125, message names the
// option or the profile position.
class PlanError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Which profile to load for an invocation, and what to say about it.
struct ProfileChoice {
  std::string profile;  // a name or a path for Loader::load
  bool fell_back_to_default = false;  // `sandbox APP` with no profile APP
};
// `exists(name)` answers whether a profile name is on the search path.
template <typename Exists>
ProfileChoice choose_profile(const Invocation& inv, Exists exists) {
  if (!inv.profile.empty()) return {inv.profile, false};
  if (inv.command == Command::kRunApp || inv.command == Command::kExplain) {
    const std::string& app = inv.app;
    const bool is_path = app.find('/') != std::string::npos || app.ends_with(".yaml");
    if (inv.command == Command::kExplain && is_path) return {app, false};
    if (!is_path && exists(app)) return {app, false};
    return {"default", true};
  }
  return {"default", false};
}

// Expands `~`, `$HOME` and `$XDG_*` at the start of a profile path; makes a command-line path
// (pos.line == 0) absolute against the current directory; normalizes "." and "//".
// Throws PlanError for ".." components.
std::string expand_path(const profiles::PathEntry& entry, const HostFacts& host);

// The app's environment (DESIGN.md "env"): kept host variables, then the fixed ones (HOME,
// USER, LOGNAME, XDG_RUNTIME_DIR, PATH if missing), then env.set, then --env.
// `passthrough` (optional) sets and drops the display/audio variables after the fixed ones.
std::vector<std::string> build_env(const profiles::Profile& profile, const Overrides& overrides,
                                   const HostFacts& host, const std::string& home,
                                   const desktop::PassthroughPlan* passthrough = nullptr);

// What display, audio, gpu grant on this host (desktop/passthrough.h).
desktop::PassthroughPlan plan_desktop(const profiles::Profile& profile, const HostFacts& host);

// The app's name: --name, else APP for `sandbox APP`, else the profile's name.
std::string app_name(const Invocation& inv, const profiles::Profile& profile);

SandboxSpec build_spec(const Invocation& inv, const ProfileChoice& choice,
                       const profiles::Profile& profile, const HostFacts& host);

// The sandbox's XDG_RUNTIME_DIR.
std::string runtime_dir_inside(uid_t uid);

}  // namespace sandbox::launcher
