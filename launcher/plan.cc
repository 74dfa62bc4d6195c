#include "launcher/plan.h"

#include <algorithm>
#include <map>

#include "launcher/instance.h"
#include "netpolicy/rules.h"
#include "overlay/layer.h"
#include "overlay/paths.h"

namespace sandbox::launcher {

using profiles::HomeMode;
using profiles::PathEntry;

namespace {

bool is_under(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

// Collapses "//" and "/./", drops a trailing "/", refuses "..".
std::string normalize(const std::string& path, const std::string& where) {
  const std::vector<std::string> parts = overlay::path_components(path);
  for (const auto& part : parts)
    if (part == "..")
      throw PlanError(where + ": '" + path + "': '..' is not allowed in paths; name the real path");
  return "/" + overlay::join_components(parts);
}

// `sandbox APP`, or `sandbox explain APP` with APP a name rather than a file: APP names the
// layer, and runs unless APP's own profile has a command.
bool names_app(const Invocation& inv) {
  if (inv.command == Command::kRunApp) return true;
  return inv.command == Command::kExplain && !inv.app.empty() &&
         inv.app.find('/') == std::string::npos && !inv.app.ends_with(".yaml");
}

// network.allow and network.publish, from the profile and the command line. Rules switch a
// sandbox without network to `filtered` (the `ci` profile plus --allow), unless the command
// line said --net none; with `host` they are an error, since nothing would enforce them.
void plan_network(SandboxSpec& spec, const Invocation& inv, const profiles::Profile& profile,
                  const HostFacts& host) {
  using profiles::NetworkMode;
  const auto& o = inv.overrides;
  std::vector<profiles::NetRule> rules = profile.net_allow;
  rules.insert(rules.end(), o.allow.begin(), o.allow.end());
  std::vector<unsigned> publish = profile.publish;
  for (unsigned p : o.publish)
    if (std::find(publish.begin(), publish.end(), p) == publish.end()) publish.push_back(p);
  const bool asked = !rules.empty() || !publish.empty();
  if (asked && spec.network == NetworkMode::kNone && !(o.network && *o.network == NetworkMode::kNone))
    spec.network = NetworkMode::kFiltered;
  if (spec.network != NetworkMode::kFiltered) {
    const std::string mode = profiles::to_string(spec.network);
    if (!rules.empty())
      throw PlanError(rules[0].pos.str() + ": network.allow needs network.mode filtered, but the network is " +
                      mode + " (drop --net " + mode + ", or the rules)");
    if (!publish.empty())
      throw PlanError("network.publish needs network.mode filtered, but the network is " + mode);
    if (!inv.net_log.empty())
      throw PlanError("--net-log needs network.mode filtered (--net filtered or --allow RULE)");
    return;
  }
  for (const auto& r : rules) {
    try {
      netpolicy::parse_rule(r.text);
    } catch (const netpolicy::RuleError& e) {
      throw PlanError(r.pos.str() + ": network.allow: '" + r.text + "': " + e.what());
    }
    spec.net_allow.push_back(r.text);
  }
  spec.publish = publish;
  spec.net_log = inv.net_log;
  spec.pasta = host.pasta;
  spec.net_helper = host.net_helper;
  // explain says what is missing; a run refuses to start without it.
  std::vector<std::string> missing;
  if (host.pasta.empty()) missing.push_back("pasta (apt-get install passt)");
  if (host.net_helper.empty())
    missing.push_back("the sandbox-net helper (it belongs next to sandbox, or in <prefix>/libexec/sandbox; reinstall sandbox)");
  for (const auto& what : missing) {
    if (inv.command == Command::kExplain)
      spec.notes.push_back("network filtered: needs " + what);
    else
      throw PlanError("network.mode filtered needs " + what);
  }
}

// A hide in the home whose first component below the home (".ssh" of ~/.ssh, ".config" of
// ~/.config/gh) exists neither in the real home nor in the app's layer, nor is made by an
// earlier mount step, finds nothing inside at startup: skipping it saves a lookup through the
// overlay and a mount (most of the default profile's secrets do not exist for most users).
// Anything that exists, a symlink included, keeps its step. Needs host.exists; without it
// (tests) every hide stays.
bool nothing_to_hide(const SandboxSpec& spec, const HostFacts& host, const std::string& path) {
  if (!host.exists || !is_under(path, spec.home) || path == spec.home) return false;
  const std::string rel = path.substr(spec.home.size() + 1);
  const std::string top = spec.home + "/" + rel.substr(0, rel.find('/'));
  for (const auto& m : spec.mounts)
    if (m.kind != MountKind::kHide && (is_under(m.target, top) || is_under(top, m.target)) && m.target != spec.home)
      return false;
  if (spec.home_mode != HomeMode::kTmpfs && host.exists(top)) return false;
  if (!spec.layer_dir.empty() && host.exists(spec.layer_dir + "/upper/" + top.substr(spec.home.size() + 1)))
    return false;
  return true;
}

}  // namespace

std::string runtime_dir_inside(uid_t uid) { return "/run/user/" + std::to_string(uid); }

std::string expand_path(const PathEntry& entry, const HostFacts& host) {
  const std::string& p = entry.path;
  const std::string where = entry.pos.str();
  if (p.empty()) throw PlanError(where + ": empty path");
  static const std::vector<std::pair<std::string, std::string HostFacts::*>> vars = {
      {"$XDG_CONFIG_HOME", &HostFacts::xdg_config_home},
      {"$XDG_DATA_HOME", &HostFacts::xdg_data_home},
      {"$XDG_CACHE_HOME", &HostFacts::xdg_cache_home},
      {"$XDG_STATE_HOME", &HostFacts::xdg_state_home},
      {"$XDG_RUNTIME_DIR", &HostFacts::xdg_runtime_dir},
      {"$HOME", &HostFacts::home},
      {"$PWD", &HostFacts::cwd},  // the directory sandbox was started in (the `ci` workspace)
  };
  std::string expanded;
  if (p == "~" || p.rfind("~/", 0) == 0) {
    expanded = host.home + p.substr(1);
  } else if (p[0] == '$') {
    for (const auto& [name, member] : vars) {
      if (p.rfind(name, 0) == 0 && (p.size() == name.size() || p[name.size()] == '/')) {
        const std::string& value = host.*member;
        if (value.empty())
          throw PlanError(where + ": '" + p + "': " + name.substr(1) + " is not set on this host");
        expanded = value + p.substr(name.size());
        break;
      }
    }
    if (expanded.empty()) throw PlanError(where + ": '" + p + "': unknown variable");
    // A workspace of / or of the whole home would hand the app everything it is meant not to see.
    if (p.rfind("$PWD", 0) == 0 && (host.cwd == "/" || is_under(host.home, host.cwd)))
      throw PlanError(where + ": '" + p + "': the current directory " + host.cwd +
                      " holds your home (or is /); cd into the project directory first");
  } else if (p[0] == '/') {
    expanded = p;
  } else if (entry.pos.line == 0) {
    expanded = host.cwd + "/" + p;  // a command-line path, relative to where the user is
  } else {
    throw PlanError(where + ": '" + p + "': paths must be absolute or start with ~/");
  }
  return normalize(expanded, where);
}

desktop::PassthroughPlan plan_desktop(const profiles::Profile& profile, const HostFacts& host) {
  desktop::PassthroughRequest request;
  request.display = profile.display.value_or(std::vector<profiles::DisplayKind>{});
  request.audio = profile.audio.value_or(false);
  request.gpu = profile.gpu.value_or(false);
  desktop::HostView view;
  view.getenv = [&host](const std::string& name) { return host.getenv(name); };
  view.exists = host.exists ? host.exists : [](const std::string&) { return false; };
  view.list_dir = host.list_dir ? host.list_dir
                                : [](const std::string&) { return std::vector<std::string>{}; };
  view.home = host.home;
  view.runtime_dir = host.xdg_runtime_dir;
  view.runtime_dir_inside = runtime_dir_inside(host.uid);
  return desktop::plan_passthrough(request, view);
}

std::vector<std::string> build_env(const profiles::Profile& profile, const Overrides& overrides,
                                   const HostFacts& host, const std::string& home,
                                   const desktop::PassthroughPlan* passthrough) {
  std::vector<std::string> keep = profile.env_keep;
  std::vector<std::pair<std::string, std::string>> sets;
  for (const auto& s : profile.env_set) sets.emplace_back(s.name, s.value);
  for (const auto& e : overrides.env) {
    auto eq = e.find('=');
    if (eq == std::string::npos)
      keep.push_back(e);
    else
      sets.emplace_back(e.substr(0, eq), e.substr(eq + 1));
  }

  std::map<std::string, std::string> env;  // sorted: the environment is printed by explain
  for (const auto& kv : host.environ) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    const std::string name = kv.substr(0, eq);
    for (const auto& pattern : keep) {
      if (profiles::env_pattern_matches(pattern, name)) {
        env[name] = kv.substr(eq + 1);
        break;
      }
    }
  }
  env["HOME"] = home;
  env["USER"] = host.user;
  env["LOGNAME"] = host.user;
  env["XDG_RUNTIME_DIR"] = runtime_dir_inside(host.uid);
  if (!env.count("PATH")) env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
  if (passthrough) {
    for (const auto& name : passthrough->env_unset) env.erase(name);
    for (const auto& [name, value] : passthrough->env_set) env[name] = value;
  }
  for (const auto& [name, value] : sets) env[name] = value;

  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

std::string app_name(const Invocation& inv, const profiles::Profile& profile) {
  if (!inv.name.empty()) return inv.name;
  if (names_app(inv)) {
    const std::string& app = inv.app;
    return app.substr(app.rfind('/') + 1);  // `sandbox ./tool` names its layer "tool"
  }
  return profile.name;
}

SandboxSpec build_spec(const Invocation& inv, const ProfileChoice& choice,
                       const profiles::Profile& profile, const HostFacts& host) {
  SandboxSpec spec;
  const auto& o = inv.overrides;
  spec.app = app_name(inv, profile);
  if (!overlay::valid_app_name(spec.app))
    throw PlanError("app name '" + spec.app +
                    "' is not valid: use letters, digits, '.', '_' and '-' (give --name NAME)");
  spec.profile_name = profile.name;
  spec.profile_file = profile.file;
  spec.profile_files = profile.extends_files;
  spec.hostname = profile.name;
  spec.verbose = inv.verbose;
  spec.uid = host.uid;
  spec.gid = host.gid;
  spec.home = host.home;
  spec.home_mode = o.home.value_or(profile.home_mode.value_or(HomeMode::kOverlay));
  spec.network = o.network.value_or(profile.network_mode.value_or(profiles::NetworkMode::kNone));
  spec.seccomp = o.seccomp.value_or(profile.seccomp.value_or(profiles::SeccompPolicy::kDefault));
  spec.nested_userns = profile.nested_userns.value_or(false);
  spec.state_dir = sandbox_state_dir(host);
  spec.instances_dir = instances_dir(host);
  spec.fuse_overlayfs = host.fuse_overlayfs;
  // SANDBOX_OVERLAY=kernel|fuse forces a driver (to test the fallback, or to rule it out).
  const std::string driver = host.getenv("SANDBOX_OVERLAY");
  if (driver == "kernel") spec.overlay_driver = SandboxSpec::OverlayDriver::kKernel;
  else if (driver == "fuse") spec.overlay_driver = SandboxSpec::OverlayDriver::kFuse;
  else if (!driver.empty() && driver != "auto")
    throw PlanError("SANDBOX_OVERLAY: '" + driver + "' is not one of auto, kernel, fuse");
  if (spec.home_mode == HomeMode::kOverlay)
    spec.layer_dir = overlay::layer_paths(spec.state_dir, spec.app).root;

  // The command. `sandbox APP` runs the profile's command when APP named the profile, else APP.
  if (names_app(inv)) {
    const bool profile_named_by_app = inv.profile.empty() && !choice.fell_back_to_default;
    if (profile_named_by_app && profile.command)
      spec.argv = *profile.command;
    else
      spec.argv = {inv.app};
    spec.argv.insert(spec.argv.end(), inv.args.begin(), inv.args.end());
  } else if (!inv.args.empty()) {
    spec.argv = inv.args;
  } else if (profile.command) {
    spec.argv = *profile.command;
  }
  if (spec.argv.empty() && inv.command != Command::kExplain)
    throw PlanError("no command to run: give one after `--`, or set `command:` in profile " +
                    profile.file);
  if (!spec.argv.empty() && spec.argv[0].empty()) throw PlanError("the command is empty");

  desktop::PassthroughPlan desktop_plan = plan_desktop(profile, host);
  spec.notes = desktop_plan.notes;
  // D-Bus: a bus is reachable only through xdg-dbus-proxy, and only when the profile names it.
  if (profile.dbus_session.enabled) {
    std::string address = host.getenv("DBUS_SESSION_BUS_ADDRESS");
    if (address.empty() && !host.xdg_runtime_dir.empty() && host.exists &&
        host.exists(host.xdg_runtime_dir + "/bus"))
      address = "unix:path=" + host.xdg_runtime_dir + "/bus";
    if (address.empty())
      spec.notes.push_back("dbus: no session bus on this host (DBUS_SESSION_BUS_ADDRESS is unset): skipped");
    else
      spec.dbus.push_back({"session", address, "", runtime_dir_inside(host.uid) + "/bus", profile.dbus_session});
  }
  if (profile.dbus_system.enabled) {
    const std::string socket = "/run/dbus/system_bus_socket";
    if (host.exists && host.exists(socket))
      spec.dbus.push_back({"system", "unix:path=" + socket, "", socket, profile.dbus_system});
    else
      spec.notes.push_back("dbus: no system bus on this host (" + socket + "): skipped");
  }
  desktop_plan.env_unset.push_back("DBUS_SESSION_BUS_ADDRESS");
  desktop_plan.env_unset.push_back("DBUS_SYSTEM_BUS_ADDRESS");
  for (const auto& bus : spec.dbus)
    if (bus.bus == "session") desktop_plan.env_set.emplace_back("DBUS_SESSION_BUS_ADDRESS", desktop::inside_address(bus));
  if (!spec.dbus.empty()) {
    if (host.dbus_proxy.empty())
      throw PlanError("profile " + profile.name + " grants D-Bus access, which needs xdg-dbus-proxy: "
                      "apt-get install xdg-dbus-proxy");
    spec.dbus_proxy = host.dbus_proxy;
  }
  spec.env = build_env(profile, o, host, spec.home, &desktop_plan);
  plan_network(spec, inv, profile, host);
  spec.limits = profile.limits;
  if (o.memory) spec.limits.memory = o.memory;
  if (o.cpu) spec.limits.cpu = o.cpu;
  if (o.pids) spec.limits.pids = o.pids;
  if (o.timeout) spec.limits.timeout = o.timeout;
  spec.cwd = host.cwd;

  // ---- The mount plan. Order matters: later steps may cover earlier ones. ----
  auto& m = spec.mounts;
  auto add = [&m](MountStep s) { m.push_back(std::move(s)); };

  // The host system, read-only. Merged-/usr symlinks (/bin -> usr/bin) are recreated as links.
  for (const auto& e : host.root_entries) {
    MountStep s;
    s.target = "/" + e.name;
    s.why = "system";
    if (e.is_symlink) {
      s.kind = MountKind::kSymlink;
      s.source = e.link_target;
    } else {
      s.kind = MountKind::kBind;
      s.source = s.target;
      s.read_only = true;
    }
    add(s);
  }
  add({.kind = MountKind::kProc, .target = "/proc", .why = "processes of this sandbox only"});
  add({.kind = MountKind::kTmpfs, .target = "/dev", .data = "mode=0755", .why = "minimal /dev"});
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
    const std::string path = std::string("/dev/") + node;
    add({.kind = MountKind::kDevNode, .target = path, .source = path, .why = "minimal /dev"});
  }
  add({.kind = MountKind::kDevpts, .target = "/dev/pts", .why = "minimal /dev"});
  add({.kind = MountKind::kSymlink, .target = "/dev/ptmx", .source = "pts/ptmx", .why = "minimal /dev"});
  spec.terminal = host.stdin_is_tty && host.stdout_is_tty;
  if (spec.terminal)
    add({.kind = MountKind::kConsole, .target = "/dev/console", .why = "the sandbox's terminal"});
  add({.kind = MountKind::kTmpfs, .target = "/dev/shm", .data = "mode=1777", .why = "minimal /dev"});
  add({.kind = MountKind::kSymlink, .target = "/dev/fd", .source = "/proc/self/fd", .why = "minimal /dev"});
  add({.kind = MountKind::kSymlink, .target = "/dev/stdin", .source = "/proc/self/fd/0", .why = "minimal /dev"});
  add({.kind = MountKind::kSymlink, .target = "/dev/stdout", .source = "/proc/self/fd/1", .why = "minimal /dev"});
  add({.kind = MountKind::kSymlink, .target = "/dev/stderr", .source = "/proc/self/fd/2", .why = "minimal /dev"});
  add({.kind = MountKind::kTmpfs, .target = "/tmp", .data = "mode=1777", .why = "fresh /tmp"});
  const bool has_var = std::any_of(host.root_entries.begin(), host.root_entries.end(),
                                   [](const RootEntry& e) { return e.name == "var" && !e.is_symlink; });
  if (has_var)
    add({.kind = MountKind::kTmpfs, .target = "/var/tmp", .data = "mode=1777", .why = "fresh /var/tmp"});
  add({.kind = MountKind::kTmpfs, .target = "/run", .data = "mode=0755", .why = "fresh /run"});
  add({.kind = MountKind::kDir, .target = runtime_dir_inside(host.uid), .data = "0700",
       .why = "fresh XDG_RUNTIME_DIR"});
  // Display, audio and GPU, as the profile grants them and the host has them.
  for (const auto& g : desktop_plan.grants) {
    using Kind = desktop::Grant::Kind;
    MountStep step{.target = g.inside_path, .source = g.host_path, .why = g.why};
    switch (g.kind) {
      case Kind::kSocket: step.kind = MountKind::kBind; break;
      case Kind::kDevice: step.kind = MountKind::kDevNode; break;
      case Kind::kReadOnly: step.kind = MountKind::kBind; step.read_only = true; break;
      case Kind::kXauthority:
        step.kind = MountKind::kXauthority;
        step.data = g.display + ":" + host.hostname;
        break;
    }
    add(step);
  }
  for (const auto& bus : spec.dbus)
    add({.kind = MountKind::kDbusSocket, .target = bus.inside, .data = bus.bus,
         .why = "dbus." + bus.bus + " (filtered by xdg-dbus-proxy)"});
  for (const auto& e : profile.dev) {
    const std::string p = expand_path(e, host);
    if (p.rfind("/dev/", 0) != 0)
      throw PlanError(e.pos.str() + ": filesystem.dev: '" + e.path + "' is not under /dev");
    add({.kind = MountKind::kDevNode, .target = p, .source = p, .scope = SourceScope::kNoSymlinks,
         .optional = e.optional, .why = "filesystem.dev (" + e.pos.str() + ")"});
  }
  if (spec.network == profiles::NetworkMode::kHost && !host.resolv_conf_target.empty())
    add({.kind = MountKind::kBind, .target = host.resolv_conf_target,
         .source = host.resolv_conf_target, .read_only = true, .optional = true,
         .why = "DNS configuration for the host network"});
  // Filtered: every name is asked of sandbox-net's resolver on the sandbox's own loopback.
  if (spec.network == profiles::NetworkMode::kFiltered)
    add({.kind = MountKind::kFile,
         .target = host.resolv_conf_target.empty() ? "/etc/resolv.conf" : host.resolv_conf_target,
         .data = "# sandbox: names are resolved by the network filter (network.allow)\n"
                 "nameserver 127.0.0.1\n",
         .why = "DNS through the network filter"});

  // The home. home.size caps the tmpfs that holds what the app writes (ephemeral, tmpfs).
  spec.home_size = profile.home_size.value_or(0);
  const std::string size_option = spec.home_size ? ",size=" + std::to_string(spec.home_size) : "";
  switch (spec.home_mode) {
    case HomeMode::kOverlay:
      add({.kind = MountKind::kOverlayHome, .target = spec.home, .source = spec.home,
           .layer_dir = spec.layer_dir, .why = "home"});
      break;
    case HomeMode::kEphemeral:
      add({.kind = MountKind::kOverlayHome, .target = spec.home, .source = spec.home,
           .data = size_option, .why = "home"});
      break;
    case HomeMode::kTmpfs:
      add({.kind = MountKind::kTmpfs, .target = spec.home, .data = "mode=0700" + size_option,
           .why = "home"});
      break;
    case HomeMode::kBind:
    case HomeMode::kRo:
      add({.kind = MountKind::kBind, .target = spec.home, .source = spec.home,
           .read_only = spec.home_mode == HomeMode::kRo, .why = "home"});
      break;
  }

  // What the profile and the command line add, in this order: tmpfs, rw, ro, hide. A later
  // step wins where paths nest (ro inside rw; hide inside anything).
  auto paths = [&](const std::vector<PathEntry>& from_profile, const std::vector<PathEntry>& from_cli) {
    std::vector<PathEntry> all = from_profile;
    all.insert(all.end(), from_cli.begin(), from_cli.end());
    return all;
  };
  auto origin = [](const PathEntry& e, const char* key) {
    return e.pos.line == 0 ? e.pos.file : std::string("profile ") + key + " (" + e.pos.str() + ")";
  };
  for (const auto& e : paths(profile.tmpfs, o.tmpfs)) {
    const std::string p = expand_path(e, host);
    add({.kind = MountKind::kTmpfs, .target = p, .data = "mode=0700",
         .target_in_home = is_under(p, spec.home), .why = origin(e, "tmpfs")});
  }
  auto add_bind = [&](const PathEntry& e, bool ro, const char* key) {
    const std::string p = expand_path(e, host);
    const bool in_home = is_under(p, spec.home);
    if (is_under(p, spec.state_dir))
      throw PlanError(e.pos.str() + ": '" + e.path + "' is inside the sandbox state tree (" +
                      spec.state_dir + "), which no sandbox may see");
    add({.kind = MountKind::kBind, .target = p, .source = p,
         .scope = in_home ? SourceScope::kHome : SourceScope::kNoSymlinks, .read_only = ro,
         .optional = e.optional, .target_in_home = in_home, .why = origin(e, key)});
  };
  for (const auto& e : paths(profile.rw, o.rw)) add_bind(e, false, "rw");
  for (const auto& e : paths(profile.ro, o.ro)) add_bind(e, true, "ro");
  for (const auto& e : paths(profile.hide, o.hide)) {
    const std::string p = expand_path(e, host);
    // explain lists every hide of the profile, whether or not it exists here.
    if (inv.command != Command::kExplain && nothing_to_hide(spec, host, p)) continue;
    add({.kind = MountKind::kHide, .target = p, .target_in_home = is_under(p, spec.home),
         .why = origin(e, "hide")});
  }
  // Last, so that nothing above can uncover it: the layers of every app.
  add({.kind = MountKind::kHide, .target = spec.state_dir,
       .target_in_home = is_under(spec.state_dir, spec.home), .why = "sandbox state (layers)"});
  return spec;
}

}  // namespace sandbox::launcher
