// Command-line parsing: argv -> Invocation. Pure; throws UsageError.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "profiles/profile.h"

namespace sandbox::launcher {

enum class Command {
  kRunApp, kRun, kExplain, kCheck, kProfiles, kHelp, kVersion,
  kDiff, kCommit, kReset, kPs, kEnter, kStop, kDesktop,
};

// What the command line fixes, on top of the profile (DESIGN.md: provenance "--rw" etc.).
struct Overrides {
  std::optional<profiles::HomeMode> home;
  std::vector<profiles::PathEntry> rw, ro, hide, tmpfs;  // pos.file = the option's name
  std::optional<profiles::NetworkMode> network;
  std::vector<profiles::NetRule> allow;  // --allow RULE (pos.file = "--allow"); implies filtered
  std::vector<unsigned> publish;         // --publish PORT
  std::vector<std::string> env;  // "NAME" keeps the host's value, "NAME=value" sets it
  std::optional<profiles::SeccompPolicy> seccomp;
  std::optional<unsigned long long> memory;  // --memory SIZE
  std::optional<double> cpu;                 // --cpu CORES
  std::optional<unsigned long long> pids;    // --pids N
  std::optional<double> timeout;             // --timeout SECONDS
};

struct Invocation {
  Command command = Command::kHelp;
  std::string app;      // kRunApp: the APP word; kExplain: APP or FILE; diff/commit/reset:
                        // APP; enter/stop: the instance ID (or APP)
  std::string profile;  // -p: a name or a path ("" = not given)
  std::string name;     // --name
  std::vector<std::string> args;  // the command and its args (run, enter), the files (check),
                                  // the paths (diff, commit, reset), more IDs (stop),
                                  // the words after `desktop` (install APP, ...)
  Overrides overrides;
  std::string net_log;       // --net-log FILE: the network denials, one line each
  std::string json_status;   // --json-status FILE: one JSON record at exit
  int json_status_fd = -1;   // --json-status-fd N
  bool verbose = false;
  bool dry_run = false;
  bool json = false;
  bool stat = false;   // diff --stat
  bool force = false;  // commit --force
  bool yes = false;    // reset -y
  bool alongside = false;  // desktop install --alongside
};

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

Invocation parse_cli(const std::vector<std::string>& argv);  // argv[0] is the program name

// The text of `sandbox --help`.
const std::string& help_text();

// Subcommand words that `sandbox APP` cannot be (DESIGN.md: reserved).
bool is_reserved_word(const std::string& word);

}  // namespace sandbox::launcher
