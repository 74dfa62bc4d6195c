// The host the planner tests plan for: user ann (1000/1001), home /home/ann, a few top-level
// directories and environment variables. No filesystem reads (exists/list_dir unset).
#pragma once

#include "launcher/host_facts.h"

namespace sandbox::launcher {

inline HostFacts fake_host() {
  HostFacts h;
  h.uid = 1000;
  h.gid = 1001;
  h.user = "ann";
  h.home = "/home/ann";
  h.xdg_config_home = "/home/ann/.config";
  h.xdg_data_home = "/home/ann/.local/share";
  h.xdg_cache_home = "/home/ann/.cache";
  h.xdg_state_home = "/home/ann/.local/state";
  h.xdg_runtime_dir = "/run/user/1000";
  h.cwd = "/home/ann/src";
  h.environ = {"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "LC_ALL=C", "SECRET_TOKEN=x",
               "HOME=/home/ann", "TERM=xterm"};
  h.root_entries = {{"usr", false, ""}, {"etc", false, ""}, {"var", false, ""},
                    {"bin", true, "usr/bin"}, {"lib", true, "usr/lib"}};
  return h;
}

}  // namespace sandbox::launcher
