#include "launcher/cli.h"

#include <algorithm>
#include <array>
#include <cstdlib>

namespace sandbox::launcher {

namespace {

using profiles::PathEntry;

const std::array<const char*, 13> kReserved = {"run",    "explain", "check",   "profiles", "diff",
                                               "commit", "reset",   "ps",      "enter",    "stop",
                                               "desktop", "help",   "version"};

// Options that take a value. Long forms accept "--opt=value" too.
bool takes_value(const std::string& opt) {
  static const std::array<const char*, 20> with_value = {
      "-p",    "--profile", "--name",    "--home",    "--rw",          "--ro",    "--hide",
      "--tmpfs", "--net",   "--env",     "--seccomp", "--memory",      "--cpu",   "--pids",
      "--timeout", "--allow", "--net-log", "--publish", "--json-status", "--json-status-fd"};
  for (const char* o : with_value)
    if (opt == o) return true;
  return false;
}

PathEntry cli_path(const std::string& opt, const std::string& value) {
  if (value.empty()) throw UsageError(opt + " needs a path");
  PathEntry e;
  e.path = value;
  if (value[0] == '?') {  // as in profiles: skipped when it does not exist
    e.optional = true;
    e.path = value.substr(1);
    if (e.path.empty()) throw UsageError(opt + " needs a path");
  }
  e.pos.file = opt;
  return e;
}

// Applies one option to `inv`. Returns false when `opt` is not an option of ours.
bool apply_option(Invocation& inv, const std::string& opt, const std::string& value) {
  auto& o = inv.overrides;
  if (opt == "-p" || opt == "--profile") {
    inv.profile = value;
  } else if (opt == "--name") {
    inv.name = value;
  } else if (opt == "--home") {
    o.home = profiles::parse_home_mode(value);
    if (!o.home)
      throw UsageError("--home: '" + value + "' is not one of overlay, ephemeral, tmpfs, bind, ro");
  } else if (opt == "--rw") {
    o.rw.push_back(cli_path(opt, value));
  } else if (opt == "--ro") {
    o.ro.push_back(cli_path(opt, value));
  } else if (opt == "--hide") {
    o.hide.push_back(cli_path(opt, value));
  } else if (opt == "--tmpfs") {
    o.tmpfs.push_back(cli_path(opt, value));
  } else if (opt == "--net") {
    o.network = profiles::parse_network_mode(value);
    if (!o.network) throw UsageError("--net: '" + value + "' is not one of none, host, filtered");
  } else if (opt == "--allow") {
    if (value.empty()) throw UsageError("--allow needs a rule, such as example.com:443");
    o.allow.push_back({value, {"--allow", 0, 0}});
  } else if (opt == "--publish") {
    char* end = nullptr;
    const long port = value.empty() ? 0 : std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || port < 1 || port > 65535)
      throw UsageError("--publish: '" + value + "' is not a port number 1-65535");
    o.publish.push_back(static_cast<unsigned>(port));
  } else if (opt == "--net-log") {
    if (value.empty()) throw UsageError("--net-log needs a file");
    inv.net_log = value;
  } else if (opt == "--json-status") {
    if (value.empty()) throw UsageError("--json-status needs a file");
    inv.json_status = value;
  } else if (opt == "--json-status-fd") {
    char* end = nullptr;
    const long fd = value.empty() ? -1 : std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || fd < 0 || fd > 1 << 20)
      throw UsageError("--json-status-fd: '" + value + "' is not a file descriptor number");
    inv.json_status_fd = static_cast<int>(fd);
  } else if (opt == "--env") {
    if (value.empty() || value[0] == '=') throw UsageError("--env needs NAME or NAME=VALUE");
    o.env.push_back(value);
  } else if (opt == "--memory") {
    o.memory = profiles::parse_size(value);
    if (!o.memory || *o.memory == 0) throw UsageError("--memory: '" + value + "' is not a size such as 512M or 4G");
  } else if (opt == "--cpu" || opt == "--pids" || opt == "--timeout") {
    char* end = nullptr;
    const double v = value.empty() ? -1 : std::strtod(value.c_str(), &end);
    const double min = opt == "--timeout" ? 0 : opt == "--cpu" ? 0.01 : 1;
    if (value.empty() || *end != '\0' || !(v >= min))
      throw UsageError(opt + ": '" + value + "' is not a number" + (opt == "--timeout" ? " of seconds" : ""));
    if (opt == "--cpu") o.cpu = v;
    else if (opt == "--pids") o.pids = static_cast<unsigned long long>(v);
    else o.timeout = v;
  } else if (opt == "--seccomp") {
    o.seccomp = profiles::parse_seccomp_policy(value);
    if (!o.seccomp)
      throw UsageError("--seccomp: '" + value + "' is not one of default, strict, devel");
  } else if (opt == "-v" || opt == "--verbose") {
    inv.verbose = true;
  } else if (opt == "--dry-run" || opt == "-n") {
    inv.dry_run = true;
  } else if (opt == "--json") {
    inv.json = true;
  } else if (opt == "--stat") {
    inv.stat = true;
  } else if (opt == "--force" || opt == "-f") {
    inv.force = true;
  } else if (opt == "-y" || opt == "--yes") {
    inv.yes = true;
  } else if (opt == "--alongside") {
    inv.alongside = true;
  } else if (opt == "-h" || opt == "--help") {
    inv.command = Command::kHelp;
  } else if (opt == "--version" || opt == "-V") {
    inv.command = Command::kVersion;
  } else {
    return false;
  }
  return true;
}

// Parses options from argv[i...] until the first non-option word or "--".
// Returns the index of the first word that is not an option (after "--" if present).
size_t parse_options(Invocation& inv, const std::vector<std::string>& argv, size_t i) {
  while (i < argv.size()) {
    const std::string& word = argv[i];
    if (word == "--") return i + 1;
    if (word.size() < 2 || word[0] != '-') return i;
    std::string opt = word, value;
    bool has_inline = false;
    if (auto eq = word.find('='); word.rfind("--", 0) == 0 && eq != std::string::npos) {
      opt = word.substr(0, eq);
      value = word.substr(eq + 1);
      has_inline = true;
    }
    if (takes_value(opt)) {
      if (!has_inline) {
        if (i + 1 >= argv.size()) throw UsageError(opt + " needs a value");
        value = argv[++i];
      }
    } else if (has_inline) {
      throw UsageError(opt + " takes no value");
    }
    const Command before = inv.command;
    if (!apply_option(inv, opt, value)) throw UsageError("unknown option '" + opt + "'");
    // --help / --version win over whatever subcommand was named.
    if (inv.command == Command::kHelp || inv.command == Command::kVersion) {
      if (before != inv.command) return argv.size();
    }
    ++i;
  }
  return i;
}

}  // namespace

bool is_reserved_word(const std::string& word) {
  for (const char* r : kReserved)
    if (word == r) return true;
  return false;
}

Invocation parse_cli(const std::vector<std::string>& argv) {
  Invocation inv;
  inv.command = Command::kRunApp;
  size_t i = parse_options(inv, argv, 1);
  if (inv.command == Command::kHelp || inv.command == Command::kVersion) return inv;
  if (i >= argv.size()) {
    inv.command = Command::kHelp;
    return inv;
  }
  const std::string word = argv[i];
  const bool after_dashdash = i > 1 && argv[i - 1] == "--";
  if (!after_dashdash && is_reserved_word(word)) {
    ++i;
    if (word == "help") {
      inv.command = Command::kHelp;
      return inv;
    }
    if (word == "version") {
      inv.command = Command::kVersion;
      return inv;
    }
    if (word == "run") {
      inv.command = Command::kRun;
      i = parse_options(inv, argv, i);
      if (inv.command != Command::kRun) return inv;
      inv.args.assign(argv.begin() + static_cast<long>(i), argv.end());
      return inv;
    }
    if (word == "enter") {
      inv.command = Command::kEnter;
      i = parse_options(inv, argv, i);
      if (inv.command != Command::kEnter) return inv;
      if (i >= argv.size()) throw UsageError("enter needs an instance ID (see `sandbox ps`)");
      inv.app = argv[i++];
      if (i < argv.size() && argv[i] == "--") ++i;
      inv.args.assign(argv.begin() + static_cast<long>(i), argv.end());
      return inv;
    }
    const std::pair<const char*, Command> with_operands[] = {
        {"explain", Command::kExplain}, {"check", Command::kCheck}, {"profiles", Command::kProfiles},
        {"diff", Command::kDiff},       {"commit", Command::kCommit}, {"reset", Command::kReset},
        {"ps", Command::kPs},           {"stop", Command::kStop},
        {"desktop", Command::kDesktop}};
    const auto* found = std::find_if(std::begin(with_operands), std::end(with_operands),
                                     [&](const auto& w) { return word == w.first; });
    if (found == std::end(with_operands)) throw UsageError("'" + word + "' is not implemented yet");
    const Command cmd = found->second;
    inv.command = cmd;
    // Options may come before or after the operands.
    std::vector<std::string> operands;
    while (i < argv.size()) {
      i = parse_options(inv, argv, i);
      if (inv.command != cmd) return inv;
      if (i < argv.size()) operands.push_back(argv[i++]);
    }
    switch (cmd) {
      case Command::kExplain:
        if (operands.size() > 1) throw UsageError("explain takes one APP or FILE");
        if (operands.empty() && inv.profile.empty())
          throw UsageError("explain needs an APP, a FILE, or -p PROFILE");
        if (!operands.empty()) inv.app = operands[0];
        return inv;
      case Command::kCheck:
        if (operands.empty()) throw UsageError("check needs at least one FILE");
        inv.args = operands;
        return inv;
      case Command::kDesktop:  // checked by run_desktop (launcher/desktop_commands.h)
        inv.args = operands;
        return inv;
      case Command::kProfiles:
      case Command::kPs:
        if (!operands.empty()) throw UsageError(word + " takes no operands");
        return inv;
      default:  // diff, commit, reset APP [PATH...]; stop ID...
        if (operands.empty())
          throw UsageError(word + (cmd == Command::kStop ? " needs an instance ID (see `sandbox ps`)"
                                                         : " needs an APP"));
        inv.app = operands[0];
        inv.args.assign(operands.begin() + 1, operands.end());
        return inv;
    }
  }
  inv.command = Command::kRunApp;
  inv.app = word;
  if (inv.app.empty()) throw UsageError("empty APP name");
  inv.args.assign(argv.begin() + static_cast<long>(i) + 1, argv.end());
  return inv;
}

const std::string& help_text() {
  static const std::string text =
      R"(Usage: sandbox [OPTIONS] APP [ARGS...]
       sandbox run [OPTIONS] [--] COMMAND [ARGS...]
       sandbox explain [OPTIONS] APP|FILE [--json]
       sandbox check FILE|NAME...
       sandbox profiles
       sandbox diff|commit|reset APP [PATH...]
       sandbox ps | enter ID [COMMAND...] | stop ID...
       sandbox desktop install APP [--alongside] | remove APP | list

Run a program in an unprivileged sandbox described by a YAML profile: the system read-only,
a copy-on-write view of your home, secrets hidden, no host processes, no network unless the
profile allows it, no capabilities, a seccomp filter.

  sandbox APP [ARGS]     run APP under profile APP (or `default`, saying so)
  run                    run COMMAND under -p PROFILE (default: `default`)
  explain                say in plain words what a profile can and cannot reach
  check                  validate profiles (file:line:col for each problem)
  profiles               list profiles and where each comes from
  diff APP [PATH...]     what APP changed in your home: added, modified, deleted, conflicts
  commit APP [PATH...]   apply APP's changes (all, or those PATHs) to your real home
  reset APP [PATH...]    drop APP's changes (all, or those PATHs)
  ps                     running sandboxes: id, app, profile, pid, uptime, memory
  enter ID [COMMAND]     run COMMAND (default: a shell) inside running sandbox ID
  stop ID...             stop sandboxes: SIGTERM, then SIGKILL after 10 s
  desktop install APP    make APP's menu entries run it in its sandbox
  desktop remove APP     remove those menu entries again
  desktop list           the menu entries installed that way

Options:
  -p, --profile P        profile name, or a path to a YAML file (contains '/' or ends .yaml)
      --name NAME        app name: names the persistent home layer (default: APP or profile)
      --home MODE        overlay | ephemeral | tmpfs | bind | ro
      --rw PATH          bind the real PATH read-write (repeatable)
      --ro PATH          bind the real PATH read-only (repeatable)
      --hide PATH        make PATH appear empty (repeatable)
      --tmpfs PATH       mount an empty tmpfs at PATH (repeatable)
      --net MODE         none | host | filtered (own network, only what --allow names)
      --allow RULE       filtered network: allow a host name (*.example.com), address or
                         CIDR, with :PORT[-PORT] and /tcp|/udp; `lan`, `localhost:PORT`
                         (repeatable; implies --net filtered)
      --publish PORT     expose the sandbox's PORT on the host's 127.0.0.1 (filtered network)
      --net-log FILE     write each refused name and connection to FILE
      --env NAME[=VAL]   pass NAME from the host, or set it (repeatable)
      --seccomp POLICY   default | strict | devel
      --memory SIZE      memory limit (cgroup memory.max, swap included), e.g. 512M
      --cpu CORES        CPU limit in cores, e.g. 0.5
      --pids N           limit on processes and threads
      --timeout SECONDS  stop the sandbox after this long: SIGTERM, then SIGKILL; exit 124
  -n, --dry-run          print the resolved sandbox and exit (commit, reset, desktop: what they would do)
      --json             explain, diff, ps: machine-readable output
      --stat             diff: counts and sizes per kind of change
  -f, --force            commit: apply even over conflicts
  -y, --yes              reset: do not ask
      --alongside        desktop install: add a menu entry NAME (sandboxed) next to NAME
      --json-status FILE run: write one JSON record at exit (times, exit, limits, denials)
      --json-status-fd N the same, to file descriptor N
  -v, --verbose          say what is set up, stage by stage, with timings (and the profile cache's use)
  -h, --help             this text
  -V, --version          the version

Profiles are searched in $XDG_CONFIG_HOME/sandbox/profiles, /etc/sandbox/profiles and
<prefix>/share/sandbox/profiles; what a launch parsed is remembered in
$XDG_DATA_HOME/sandbox/.cache/profiles until the file changes.
Exit status: the command's own; 128+N when it was killed by signal N; 126 when it cannot be
run; 127 when it is not found; 125 when sandbox itself failed.
See sandbox(1) and sandbox-profile(5).
)";
  return text;
}

}  // namespace sandbox::launcher
