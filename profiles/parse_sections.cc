// The later sections of a profile file: network, display, dbus, desktop_entry, limits,
// security (see parse.cc for the file's shape and parse_internal.h for the Parser).
#include "profiles/parse_internal.h"

namespace sandbox::profiles::detail {

void Parser::parse_network(const Entry& entry, Profile& profile) const {
  for (const Entry& e : section(entry, kNetworkKeys, kNetworkLater)) {
    if (e.key == "mode") {
      profile.network_mode = enum_value<NetworkMode>(e, "network.mode", parse_network_mode,
                                                     "none, host, filtered");
    } else if (e.key == "allow") {
      const std::string expected = "a list of rules (example.com:443, *.example.org, 10.0.0.0/8, lan, localhost:8080)";
      for (const YAML::Node& item : list_items(e, "network.allow", expected)) {
        if (!item.IsScalar() || item.Scalar().empty())
          fail(pos_of(item), "network.allow: expected a rule such as example.com:443, got " + describe(item));
        profile.net_allow.push_back({item.Scalar(), pos_of(item)});
      }
    } else {
      for (const YAML::Node& item : list_items(e, "network.publish", "a list of port numbers")) {
        const std::string text = item.IsScalar() ? item.Scalar() : "";
        unsigned long port = 0;
        if (!text.empty() && text.size() <= 5 && text.find_first_not_of("0123456789") == std::string::npos)
          port = std::stoul(text);
        if (port < 1 || port > 65535)
          fail(pos_of(item), "network.publish: expected a port number 1-65535, got " + describe(item));
        profile.publish.push_back(static_cast<unsigned>(port));
      }
    }
  }
}

void Parser::parse_env(const Entry& entry, Profile& profile) const {
  for (const Entry& e : section(entry, kEnvKeys, kNone)) {
    if (e.key == "keep") {
      for (const YAML::Node& item : list_items(e, "env.keep", "a list of variable names")) {
        if (!item.IsScalar()) {
          fail(pos_of(item), "env.keep: expected a variable name, got " + describe(item));
        }
        if (!is_env_pattern(item.Scalar())) {
          fail(pos_of(item), "env.keep: " + describe(item) +
                                 " is not a variable name or pattern (letters, digits, '_' "
                                 "and '*', not starting with a digit)");
        }
        profile.env_keep.push_back(item.Scalar());
      }
      continue;
    }
    // env.set: NAME: value. Unquoted numbers and booleans are kept as written ("1", "true").
    if (e.value.IsNull() && null_token(e.value).empty()) continue;
    if (!e.value.IsMap()) wrong_type(e, "env.set", "a map of NAME: value");
    for (const Entry& var : entries(e.value, "env.set")) {
      if (!is_env_name(var.key)) {
        fail(pos_of(var.key_node), "env.set: '" + var.key +
                                       "' is not a valid variable name (letters, digits and "
                                       "'_', not starting with a digit)");
      }
      const std::string label = "env.set." + var.key;
      if (!var.value.IsScalar()) {
        std::string message = label + ": expected a string, got " + describe(var.value);
        if (var.value.IsNull()) message += " (write \"\" for an empty value)";
        fail(value_pos(var), message);
      }
      if (var.value.Scalar().find('\0') != std::string::npos) {
        fail(value_pos(var), label + ": value contains a NUL character");
      }
      profile.env_set.push_back({var.key, var.value.Scalar(), pos_of(var.key_node)});
    }
  }
}

bool Parser::bool_value(const Entry& e, const std::string& label) const {
  // YAML 1.2 booleans only: yaml-cpp would also take yes/no/on/off, which YAML 1.2 reads
  // as strings; a profile should mean the same to every reader.
  const std::string text = e.value.IsScalar() ? e.value.Scalar() : "";
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  wrong_type(e, label, "true or false");
}

void Parser::parse_display(const Entry& entry, Profile& profile) const {
  std::vector<DisplayKind> kinds;
  for (const YAML::Node& item : list_items(entry, "display", "a list of wayland, x11")) {
    const std::string text = item.IsScalar() ? item.Scalar() : std::string();
    const auto kind = parse_display_kind(text);
    if (!kind) fail(pos_of(item), "display: " + describe(item) + " is not one of wayland, x11");
    if (std::find(kinds.begin(), kinds.end(), *kind) == kinds.end()) kinds.push_back(*kind);
  }
  profile.display = kinds;
}

// Bus names, with a trailing ".*" for a whole namespace (xdg-dbus-proxy's --talk etc.); call
// and broadcast rules are NAME=RULE as xdg-dbus-proxy takes them.
void Parser::parse_dbus(const Entry& entry, Profile& profile) const {
  for (const Entry& bus : section(entry, kDbusKeys, kNone)) {
    DbusPolicy& policy = bus.key == "session" ? profile.dbus_session : profile.dbus_system;
    policy.enabled = true;
    for (const Entry& e : section(bus, kDbusRuleKeys, kNone, "dbus")) {
      const std::string label = "dbus." + bus.key + "." + e.key;
      for (const YAML::Node& item : list_items(e, label, "a list of bus names")) {
        const std::string text = item.IsScalar() ? item.Scalar() : std::string();
        const bool rule = e.key == "call" || e.key == "broadcast";
        if (!(rule ? is_dbus_rule(text) : is_dbus_name_pattern(text))) {
          fail(pos_of(item), label + ": " + describe(item) +
                                 (rule ? " is not NAME=RULE (e.g. org.example.App=org.example.Iface.Method@/path)"
                                       : " is not a bus name (e.g. org.freedesktop.portal.*)"));
        }
        auto& list = e.key == "talk"   ? policy.talk
                     : e.key == "own"  ? policy.own
                     : e.key == "see"  ? policy.see
                     : e.key == "call" ? policy.call
                                       : policy.broadcast;
        list.push_back(text);
      }
    }
  }
}

// A desktop file id as menus know it ("firefox-esr.desktop", "org.gnome.Evince.desktop"), not
// a path: `sandbox desktop install` looks it up in $XDG_DATA_DIRS/applications.
void Parser::parse_desktop_entry(const Entry& entry, Profile& profile) const {
  const std::string id = string_value(entry, "desktop_entry");
  if (id.size() <= 8 || !id.ends_with(".desktop") || id.find('/') != std::string::npos ||
      id[0] == '.') {
    fail(value_pos(entry), "desktop_entry: " + describe(entry.value) +
                               " is not a desktop file id (a file name ending in .desktop, "
                               "such as firefox-esr.desktop, without '/')");
  }
  profile.desktop_entry = id;
}

double Parser::number_value(const Entry& e, const std::string& label, double min, double max) const {
  const std::string text = e.value.IsScalar() ? e.value.Scalar() : "";
  char* end = nullptr;
  const double v = text.empty() ? 0 : std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v >= min && v <= max)) {
    std::ostringstream range;
    range << "a number from " << min << " to " << max;
    wrong_type(e, label, range.str());
  }
  return v;
}

void Parser::parse_limits(const Entry& entry, Profile& profile) const {
  Limits& l = profile.limits;
  auto size = [&](const Entry& e, const std::string& label) {
    const std::string text = e.value.IsScalar() ? e.value.Scalar() : "";
    const auto v = parse_size(text);
    if (!v || *v == 0) wrong_type(e, label, "a size such as 512M or 4G");
    return *v;
  };
  for (const Entry& e : section(entry, kLimitsKeys, kNone)) {
    const std::string label = "limits." + e.key;
    if (e.key == "memory") l.memory = size(e, label);
    else if (e.key == "cpu") l.cpu = number_value(e, label, 0.01, 1024);
    else if (e.key == "pids") l.pids = static_cast<unsigned long long>(number_value(e, label, 1, 4194304));
    else if (e.key == "io_weight") l.io_weight = static_cast<unsigned>(number_value(e, label, 1, 10000));
    else if (e.key == "timeout") l.timeout = number_value(e, label, 0, 31536000);
    else if (e.key == "required") l.required = bool_value(e, label);
    else if (e.key == "rlimits") {
      for (const Entry& r : section(e, kRlimitKeys, kNone, "limits")) {
        const std::string rlabel = "limits.rlimits." + r.key;
        const std::string text = r.value.IsScalar() ? r.value.Scalar() : "";
        if (text == "unlimited") {
          l.rlimits[r.key] = ~0ULL;
        } else {
          const auto v = parse_size(text);
          if (!v) wrong_type(r, rlabel, "a number, a size such as 1G, or unlimited");
          l.rlimits[r.key] = *v;
        }
      }
    }
  }
}

void Parser::parse_security(const Entry& entry, Profile& profile) const {
  for (const Entry& e : section(entry, kSecurityKeys, kNone)) {
    if (e.key == "seccomp") {
      profile.seccomp = enum_value<SeccompPolicy>(e, "security.seccomp", parse_seccomp_policy,
                                                  "default, strict, devel");
      continue;
    }
    profile.nested_userns = bool_value(e, "security.nested_userns");
  }
}

}  // namespace sandbox::profiles::detail
