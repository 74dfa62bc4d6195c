#include "launcher/explain.h"

#include <cstdio>
#include <sstream>

#include "launcher/seccomp.h"

namespace sandbox::launcher {

namespace {

using profiles::HomeMode;

const char* kind_name(MountKind k) {
  switch (k) {
    case MountKind::kTmpfs: return "tmpfs";
    case MountKind::kBind: return "bind";
    case MountKind::kOverlayHome: return "overlay";
    case MountKind::kProc: return "proc";
    case MountKind::kDevNode: return "dev";
    case MountKind::kDevpts: return "devpts";
    case MountKind::kSymlink: return "symlink";
    case MountKind::kDir: return "dir";
    case MountKind::kHide: return "hide";
    case MountKind::kConsole: return "console";
    case MountKind::kXauthority: return "xauthority";
    case MountKind::kFile: return "file";
    case MountKind::kDbusSocket: return "dbus";
  }
  return "?";
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

std::string shell_words(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    const bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$`*?[]{}();&|<>~#!") == std::string::npos;
    if (plain) {
      out += a;
    } else {
      out += '\'';
      for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
      out += '\'';
    }
  }
  return out;
}

std::string home_words(const SandboxSpec& s) {
  switch (s.home_mode) {
    case HomeMode::kOverlay:
      return "a copy-on-write view of " + s.home + ": it reads your real files, and what it "
             "writes lands in " + s.layer_dir + " (never in the real home)";
    case HomeMode::kEphemeral:
      return "a copy-on-write view of " + s.home + " whose changes are thrown away at exit";
    case HomeMode::kTmpfs:
      return "an empty home at " + s.home + ", thrown away at exit";
    case HomeMode::kBind:
      return "your real home " + s.home + ", read-write: it can change or delete your files";
    case HomeMode::kRo:
      return "your real home " + s.home + ", read-only";
  }
  return "";
}

}  // namespace

std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string json_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + json_quote(items[i]);
  return out + "]";
}

std::string explain_text(const SandboxSpec& s) {
  std::ostringstream o;
  o << s.app << ": profile " << s.profile_name << " (" << s.profile_file << ")\n";
  if (s.profile_files.size() > 1) o << "  merged from: " << join(s.profile_files, ", ") << "\n";
  o << "  runs: " << (s.argv.empty() ? "(the command you give)" : shell_words(s.argv)) << "\n\n";

  std::vector<std::string> sys_ro, rw, ro, hidden, tmp;
  for (const auto& m : s.mounts) {
    if (m.why == "system" && m.kind == MountKind::kBind) sys_ro.push_back(m.target);
    if (m.why == "home" || m.why == "system" || m.why.rfind("minimal", 0) == 0) continue;
    if (m.kind == MountKind::kBind) (m.read_only ? ro : rw).push_back(m.target + (m.optional ? " (if it exists)" : ""));
    if (m.kind == MountKind::kHide) hidden.push_back(m.target + (m.why.rfind("sandbox state", 0) == 0 ? " (every app's layer)" : ""));
    if (m.kind == MountKind::kTmpfs && m.why.rfind("fresh", 0) != 0) tmp.push_back(m.target);
  }
  o << "It can read:\n";
  o << "  - the system, read-only: " << join(sys_ro, " ") << "\n";
  o << "  - its home: " << home_words(s) << "\n";
  for (const auto& p : ro) o << "  - " << p << " (read-only)\n";
  o << "It can write:\n";
  if (s.home_mode == HomeMode::kOverlay) o << "  - its home, into its own layer (review with `sandbox diff " << s.app << "`)\n";
  else if (s.home_mode == HomeMode::kBind) o << "  - your real home\n";
  else if (s.home_mode != HomeMode::kRo) o << "  - its home, which is thrown away at exit\n";
  for (const auto& p : rw) o << "  - " << p << " (the real one)\n";
  for (const auto& p : tmp) o << "  - " << p << " (empty, thrown away at exit)\n";
  o << "  - fresh, empty /tmp, /var/tmp, /dev/shm and " << "$XDG_RUNTIME_DIR, thrown away at exit\n";
  o << "It cannot see:\n";
  for (const auto& p : hidden) o << "  - " << p << " (appears empty)\n";
  o << "  - other processes of yours or of the system (own pid namespace)\n";
  o << "  - the rest of /run, /sys, /media, /mnt and /home of other users\n";
  o << "Network: ";
  if (s.network == profiles::NetworkMode::kNone) {
    o << "none (own network namespace with loopback only)\n";
  } else if (s.network == profiles::NetworkMode::kFiltered) {
    o << "filtered (own network namespace through pasta; an egress filter it cannot change)\n";
    if (s.net_allow.empty()) o << "  - nothing is allowed: every name and connection is refused\n";
    for (const auto& r : s.net_allow) o << "  - allowed: " << r << "\n";
    o << "  - everything else is refused, IPv6 included; names resolve only through the filter\n";
    o << "  - the host's loopback is unreachable but for localhost:PORT rules\n";
    for (unsigned p : s.publish) o << "  - its port " << p << " is published on the host's 127.0.0.1:" << p << "\n";
  } else {
    o << "the host's network, unrestricted (warning: it can reach anything you can, "
         "including services on localhost)\n";
  }
  // Display, audio, GPU, devices, D-Bus: what the profile grants and the host has.
  std::vector<std::string> display, audio, gpu, devices;
  for (const auto& m : s.mounts) {
    if (m.why == "wayland") display.push_back("Wayland (" + m.source + ")");
    if (m.why == "x11" && m.kind == MountKind::kBind) display.push_back("X11 (" + m.source + ")");
    if (m.why == "x11" && m.kind == MountKind::kXauthority) display.push_back("its X cookie only");
    if (m.why == "audio") audio.push_back(m.source);
    if (m.why == "gpu" && m.kind == MountKind::kDevNode) gpu.push_back(m.source);
    if (m.why.rfind("filesystem.dev", 0) == 0) devices.push_back(m.source);
  }
  o << "Display: " << (display.empty() ? "none" : join(display, ", ")) << "\n";
  o << "Audio: " << (audio.empty() ? "none" : join(audio, ", ")) << "\n";
  o << "GPU: " << (gpu.empty() ? "none" : join(gpu, ", ")) << "\n";
  if (!devices.empty()) o << "Devices: " << join(devices, ", ") << "\n";
  o << "D-Bus: ";
  if (s.dbus.empty()) o << "none (no bus is reachable)\n";
  for (size_t i = 0; i < s.dbus.size(); ++i) {
    const auto& b = s.dbus[i];
    o << (i ? "       " : "") << "the " << b.bus << " bus, filtered by xdg-dbus-proxy: ";
    std::vector<std::string> parts;
    if (!b.policy.talk.empty()) parts.push_back("talk to " + join(b.policy.talk, ", "));
    if (!b.policy.own.empty()) parts.push_back("own " + join(b.policy.own, ", "));
    if (!b.policy.see.empty()) parts.push_back("see " + join(b.policy.see, ", "));
    if (!b.policy.call.empty()) parts.push_back("call " + join(b.policy.call, ", "));
    if (!b.policy.broadcast.empty()) parts.push_back("hear " + join(b.policy.broadcast, ", "));
    o << (parts.empty() ? "the bus itself and nothing else" : join(parts, "; ")) << "\n";
  }
  {
    const auto& l = s.limits;
    std::vector<std::string> parts;
    char buf[64];
    if (l.memory) parts.push_back("memory " + std::to_string(*l.memory >> 20) + " MiB");
    if (l.cpu) {
      std::snprintf(buf, sizeof(buf), "cpu %g cores", *l.cpu);
      parts.push_back(buf);
    }
    if (l.pids) parts.push_back("pids " + std::to_string(*l.pids));
    if (l.io_weight) parts.push_back("io weight " + std::to_string(*l.io_weight));
    o << "Limits: " << (parts.empty() ? "none" : join(parts, ", "));
    if (!parts.empty())
      o << " (through a systemd user scope, else a delegated cgroup v2 subtree, else only as "
           "rlimits" << (l.required.value_or(false) ? ", which is refused: limits.required" : "")
        << "; `-v` says which at launch)";
    o << "\n";
    if (l.timeout && *l.timeout > 0) {
      std::snprintf(buf, sizeof(buf), "%g", *l.timeout);
      o << "Timeout: " << buf << " s (then SIGTERM, SIGKILL 5 s later, exit status 124)\n";
    }
    for (const auto& [name, value] : l.rlimits)
      o << "Rlimit " << name << ": " << (value == ~0ULL ? std::string("unlimited") : std::to_string(value)) << "\n";
  }
  for (const auto& n : s.notes) o << "Note: " << n << "\n";
  o << "Privileges: your own uid " << s.uid << " and gid " << s.gid
    << "; no capabilities; no_new_privs (setuid programs gain nothing); a new session "
       "(no way to inject keystrokes into your terminal); dies with the launcher\n";
  o << "System calls (seccomp policy " << profiles::to_string(s.seccomp)
    << (s.nested_userns ? ", nested user namespaces allowed" : "") << "):\n";
  for (const auto& line : seccomp::describe(s.seccomp, s.nested_userns)) o << "  - " << line << "\n";
  o << "Environment: only these variables are passed: ";
  std::vector<std::string> names;
  for (const auto& kv : s.env) names.push_back(kv.substr(0, kv.find('=')));
  o << join(names, " ") << "\n";
  return o.str();
}

std::string explain_json(const SandboxSpec& s) {
  std::ostringstream o;
  const auto list = json_list;
  o << "{\n";
  o << "  \"app\": " << json_quote(s.app) << ",\n";
  o << "  \"profile\": " << json_quote(s.profile_name) << ",\n";
  o << "  \"profile_file\": " << json_quote(s.profile_file) << ",\n";
  o << "  \"profile_files\": " << list(s.profile_files) << ",\n";
  o << "  \"command\": " << list(s.argv) << ",\n";
  o << "  \"hostname\": " << json_quote(s.hostname) << ",\n";
  o << "  \"uid\": " << s.uid << ",\n  \"gid\": " << s.gid << ",\n";
  o << "  \"home\": {\"path\": " << json_quote(s.home) << ", \"mode\": "
    << json_quote(profiles::to_string(s.home_mode)) << ", \"layer\": "
    << (s.layer_dir.empty() ? "null" : json_quote(s.layer_dir)) << "},\n";
  o << "  \"state_dir\": " << json_quote(s.state_dir) << ",\n";
  o << "  \"network\": " << json_quote(profiles::to_string(s.network)) << ",\n";
  o << "  \"network_allow\": " << list(s.net_allow) << ",\n";
  std::vector<std::string> published;
  for (unsigned p : s.publish) published.push_back(std::to_string(p));
  o << "  \"network_publish\": [";
  for (size_t i = 0; i < published.size(); ++i) o << (i ? ", " : "") << published[i];
  o << "],\n";
  std::vector<std::string> ns = {"user", "mount", "pid", "ipc", "uts", "cgroup"};
  if (s.network != profiles::NetworkMode::kHost) ns.push_back("net");
  o << "  \"namespaces\": " << list(ns) << ",\n";
  o << "  \"capabilities\": [],\n  \"no_new_privs\": true,\n";
  o << "  \"seccomp\": {\"policy\": " << json_quote(profiles::to_string(s.seccomp))
    << ", \"nested_userns\": " << (s.nested_userns ? "true" : "false") << ", \"blocks\": "
    << list(seccomp::describe(s.seccomp, s.nested_userns)) << "},\n";
  std::vector<std::string> names;
  for (const auto& kv : s.env) names.push_back(kv.substr(0, kv.find('=')));
  o << "  \"environment\": " << list(names) << ",\n";
  o << "  \"dbus\": [";
  for (size_t i = 0; i < s.dbus.size(); ++i) {
    const auto& b = s.dbus[i];
    o << (i ? ", " : "") << "{\"bus\": " << json_quote(b.bus) << ", \"talk\": " << list(b.policy.talk)
      << ", \"own\": " << list(b.policy.own) << ", \"see\": " << list(b.policy.see)
      << ", \"call\": " << list(b.policy.call) << ", \"broadcast\": " << list(b.policy.broadcast) << "}";
  }
  o << "],\n";
  o << "  \"notes\": " << list(s.notes) << ",\n";
  {
    const auto& l = s.limits;
    auto num = [](auto v) { return v ? std::to_string(*v) : std::string("null"); };
    o << "  \"limits\": {\"memory\": " << num(l.memory) << ", \"cpu\": "
      << (l.cpu ? std::to_string(*l.cpu) : "null") << ", \"pids\": " << num(l.pids)
      << ", \"io_weight\": " << num(l.io_weight) << ", \"timeout\": "
      << (l.timeout ? std::to_string(*l.timeout) : "null") << ", \"required\": "
      << (l.required.value_or(false) ? "true" : "false") << "},\n";
  }
  o << "  \"mounts\": [\n";
  for (size_t i = 0; i < s.mounts.size(); ++i) {
    const auto& m = s.mounts[i];
    o << "    {\"kind\": " << json_quote(kind_name(m.kind)) << ", \"target\": " << json_quote(m.target);
    if (!m.source.empty()) o << ", \"source\": " << json_quote(m.source);
    if (m.kind == MountKind::kBind || m.kind == MountKind::kDevNode)
      o << ", \"read_only\": " << (m.read_only ? "true" : "false");
    if (m.optional) o << ", \"optional\": true";
    o << ", \"why\": " << json_quote(m.why) << "}" << (i + 1 < s.mounts.size() ? "," : "") << "\n";
  }
  o << "  ]\n}\n";
  return o.str();
}

std::string dry_run_text(const SandboxSpec& s) {
  std::ostringstream o;
  o << "app " << s.app << "\nprofile " << s.profile_name << " " << s.profile_file << "\n";
  o << "command " << shell_words(s.argv) << "\n";
  o << "hostname " << s.hostname << "\nuid " << s.uid << " gid " << s.gid << "\n";
  o << "network " << profiles::to_string(s.network) << "\n";
  for (const auto& r : s.net_allow) o << "allow " << r << "\n";
  for (unsigned p : s.publish) o << "publish 127.0.0.1:" << p << "\n";
  o << "seccomp " << profiles::to_string(s.seccomp) << (s.nested_userns ? " nested_userns" : "") << "\n";
  o << "cwd " << s.cwd << "\n";
  for (const auto& kv : s.env) o << "env " << kv << "\n";
  for (const auto& m : s.mounts) {
    o << "mount " << kind_name(m.kind) << " " << m.target;
    if (!m.source.empty() && m.source != m.target) o << " <- " << m.source;
    if (!m.layer_dir.empty()) o << " layer " << m.layer_dir;
    if (!m.data.empty()) o << " [" << m.data << "]";
    if (m.read_only) o << " ro";
    if (m.optional) o << " optional";
    o << "  # " << m.why << "\n";
  }
  return o.str();
}

}  // namespace sandbox::launcher
