// `sandbox diff|commit|reset APP [PATH...]`: the command-line side of overlay/changes.h,
// overlay/commit.h and overlay/reset.h. Each returns the process exit status:
//   diff    0 (also when there are changes; "no changes" when there are none)
//   commit  0 done (or nothing to do), 1 refused because of conflicts or entries it will not
//           apply (listed, with the --force hint), 125 on errors
//   reset   0 done (or nothing to do), 1 when the person said no, 125 on errors, and when there
//           is no terminal to ask on and no -y
// PATHs are home-relative: `~/x`, `$HOME/x` (either spelling of the home) and `x` name the
// same entry; anything outside the home is an error.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "launcher/host_facts.h"

namespace sandbox::launcher {

struct LayerCommandArgs {
  std::string app;
  std::vector<std::string> paths;
  bool stat = false, json = false, force = false, dry_run = false, yes = false;
};

// Where the commands read and write; tests pass their own streams.
struct CommandIo {
  std::FILE* in = stdin;
  std::FILE* out = stdout;
  std::FILE* err = stderr;
  int interactive = -1;  // reset's question: 1 ask, 0 do not, -1 ask when `in` is a terminal
};

int run_diff(const HostFacts& host, const LayerCommandArgs& args, const CommandIo& io = {});
int run_commit(const HostFacts& host, const LayerCommandArgs& args, const CommandIo& io = {});
int run_reset(const HostFacts& host, const LayerCommandArgs& args, const CommandIo& io = {});

// A PATH argument as a path relative to the home ("" for the home itself). Pure; throws
// std::invalid_argument naming the argument when it is outside the home.
std::string home_relative_path(const std::string& arg, const HostFacts& host);

}  // namespace sandbox::launcher
