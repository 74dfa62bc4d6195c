// The profile model's small pure pieces: enum spellings, positions and errors, merging,
// search dirs, name and path syntax, env patterns.
#include "profiles/profile.h"

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

namespace sandbox::profiles {

namespace {

// Enum <-> YAML spelling tables; the order is the order error messages list them in.
constexpr std::array<std::pair<HomeMode, const char*>, 5> kHomeModes{{
    {HomeMode::kOverlay, "overlay"},
    {HomeMode::kEphemeral, "ephemeral"},
    {HomeMode::kTmpfs, "tmpfs"},
    {HomeMode::kBind, "bind"},
    {HomeMode::kRo, "ro"},
}};
constexpr std::array<std::pair<NetworkMode, const char*>, 3> kNetworkModes{{
    {NetworkMode::kNone, "none"},
    {NetworkMode::kHost, "host"},
    {NetworkMode::kFiltered, "filtered"},
}};
constexpr std::array<std::pair<SeccompPolicy, const char*>, 3> kSeccompPolicies{{
    {SeccompPolicy::kDefault, "default"},
    {SeccompPolicy::kStrict, "strict"},
    {SeccompPolicy::kDevel, "devel"},
}};

template <typename Enum, size_t N>
const char* spelling(const std::array<std::pair<Enum, const char*>, N>& table, Enum value) {
  for (const auto& [e, text] : table) {
    if (e == value) return text;
  }
  return "?";
}

template <typename Enum, size_t N>
std::optional<Enum> lookup(const std::array<std::pair<Enum, const char*>, N>& table,
                           const std::string& text) {
  for (const auto& [e, spelled] : table) {
    if (text == spelled) return e;
  }
  return std::nullopt;
}

template <typename T>
void append(std::vector<T>& to, const std::vector<T>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

// The variables a profile path may start with: the planner knows their host values.
constexpr std::array<std::string_view, 7> kPathVariables{
    "HOME",          "XDG_CONFIG_HOME", "XDG_DATA_HOME",
    "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR", "PWD",
};

constexpr const char* kPathForms =
    "a path must be absolute (/...) or start with ~, $HOME, $XDG_CONFIG_HOME, $XDG_DATA_HOME, "
    "$XDG_CACHE_HOME, $XDG_STATE_HOME, $XDG_RUNTIME_DIR or $PWD (alone or followed by /...)";

bool has_allowed_root(const std::string& path) {
  if (path[0] == '/') return true;
  if (path[0] == '~') return path.size() == 1 || path[1] == '/';  // not ~user
  if (path[0] == '$') {
    const size_t slash = path.find('/');
    const std::string_view var = std::string_view(path).substr(1, slash == std::string::npos
                                                                      ? std::string::npos
                                                                      : slash - 1);
    return std::find(kPathVariables.begin(), kPathVariables.end(), var) != kPathVariables.end();
  }
  return false;
}

}  // namespace

const char* to_string(HomeMode mode) { return spelling(kHomeModes, mode); }
const char* to_string(NetworkMode mode) { return spelling(kNetworkModes, mode); }
const char* to_string(SeccompPolicy policy) { return spelling(kSeccompPolicies, policy); }

std::optional<HomeMode> parse_home_mode(const std::string& text) {
  return lookup(kHomeModes, text);
}
std::optional<NetworkMode> parse_network_mode(const std::string& text) {
  return lookup(kNetworkModes, text);
}
const char* to_string(InstanceMode mode) {
  return mode == InstanceMode::kSingle ? "single" : "multi";
}

std::optional<InstanceMode> parse_instance_mode(const std::string& text) {
  if (text == "single") return InstanceMode::kSingle;
  if (text == "multi") return InstanceMode::kMulti;
  return std::nullopt;
}

std::optional<DisplayKind> parse_display_kind(const std::string& text) {
  if (text == "wayland") return DisplayKind::kWayland;
  if (text == "x11") return DisplayKind::kX11;
  return std::nullopt;
}

const char* to_string(DisplayKind kind) { return kind == DisplayKind::kWayland ? "wayland" : "x11"; }

bool is_dbus_name_pattern(const std::string& text) {
  std::string name = text;
  if (name.size() > 2 && name.compare(name.size() - 2, 2, ".*") == 0) name.resize(name.size() - 2);
  if (name.empty() || name.size() > 255 || name[0] == '.' || name.back() == '.') return false;
  bool dot = false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.' || c == ':';
    if (!ok) return false;
    dot = dot || c == '.';
  }
  return dot;
}

bool is_dbus_rule(const std::string& text) {
  const size_t eq = text.find('=');
  return eq != std::string::npos && is_dbus_name_pattern(text.substr(0, eq)) && eq + 1 < text.size() &&
         text.find_first_of(" \t\n", eq) == std::string::npos;
}

std::optional<unsigned long long> parse_size(const std::string& text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  unsigned long long value = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (value > (~0ULL - 9) / 10) return std::nullopt;
    value = value * 10 + static_cast<unsigned>(text[i] - '0');
  }
  if (i == 0) return std::nullopt;
  if (i == text.size()) return value;
  if (i + 1 != text.size()) return std::nullopt;
  int shift = 0;
  switch (text[i]) {
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    case 't': case 'T': shift = 40; break;
    default: return std::nullopt;
  }
  if (value > (~0ULL >> shift)) return std::nullopt;
  return value << shift;
}

std::optional<SeccompPolicy> parse_seccomp_policy(const std::string& text) {
  return lookup(kSeccompPolicies, text);
}

std::string SourcePos::str() const {
  if (line == 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

ProfileError::ProfileError(const SourcePos& pos, const std::string& message)
    : std::runtime_error(pos.str() + ": " + message), pos_(pos), message_(message) {}

Profile merge(const Profile& base, const Profile& overlay) {
  Profile out = base;
  out.name = overlay.name;
  if (!overlay.description.empty()) out.description = overlay.description;
  out.file = overlay.file;
  append(out.extends_files, overlay.extends_files);
  if (overlay.command) out.command = overlay.command;
  if (overlay.home_mode) out.home_mode = overlay.home_mode;
  append(out.rw, overlay.rw);
  append(out.ro, overlay.ro);
  // `show` in the overlay lifts the base's hides of the same path (as written: ~/x is not
  // $HOME/x); then the overlay's own hides apply.
  if (!overlay.show.empty()) {
    std::vector<PathEntry> kept;
    for (const auto& h : out.hide) {
      bool shown = false;
      for (const auto& s : overlay.show) shown = shown || s.path == h.path;
      if (!shown) kept.push_back(h);
    }
    out.hide = std::move(kept);
  }
  append(out.hide, overlay.hide);
  append(out.show, overlay.show);
  append(out.tmpfs, overlay.tmpfs);
  append(out.dev, overlay.dev);
  if (overlay.network_mode) out.network_mode = overlay.network_mode;
  out.net_allow.insert(out.net_allow.end(), overlay.net_allow.begin(), overlay.net_allow.end());
  for (unsigned port : overlay.publish)
    if (std::find(out.publish.begin(), out.publish.end(), port) == out.publish.end()) out.publish.push_back(port);
  append(out.env_keep, overlay.env_keep);
  append(out.env_set, overlay.env_set);
  if (overlay.seccomp) out.seccomp = overlay.seccomp;
  if (overlay.home_size) out.home_size = overlay.home_size;
  if (overlay.instance) out.instance = overlay.instance;
  {
    const Limits& b = overlay.limits;
    Limits& l = out.limits;
    if (b.memory) l.memory = b.memory;
    if (b.cpu) l.cpu = b.cpu;
    if (b.pids) l.pids = b.pids;
    if (b.io_weight) l.io_weight = b.io_weight;
    if (b.timeout) l.timeout = b.timeout;
    if (b.required) l.required = b.required;
    for (const auto& [k, v] : b.rlimits) l.rlimits[k] = v;
  }
  if (overlay.audio) out.audio = overlay.audio;
  if (overlay.gpu) out.gpu = overlay.gpu;
  if (overlay.display) {
    std::vector<DisplayKind> kinds = out.display.value_or(std::vector<DisplayKind>{});
    for (DisplayKind k : *overlay.display)
      if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);
    // `display: []` in the overlay says "none", whatever the base had.
    out.display = overlay.display->empty() ? std::vector<DisplayKind>{} : kinds;
  }
  for (auto [to, from] : {std::pair{&out.dbus_session, &overlay.dbus_session},
                          std::pair{&out.dbus_system, &overlay.dbus_system}}) {
    to->enabled = to->enabled || from->enabled;
    for (auto [a, b] : {std::pair{&to->talk, &from->talk}, std::pair{&to->own, &from->own},
                        std::pair{&to->see, &from->see}, std::pair{&to->call, &from->call},
                        std::pair{&to->broadcast, &from->broadcast}})
      a->insert(a->end(), b->begin(), b->end());
  }
  if (overlay.nested_userns) out.nested_userns = overlay.nested_userns;
  if (overlay.desktop_entry) out.desktop_entry = overlay.desktop_entry;
  return out;
}

std::vector<std::string> default_search_dirs(const std::string& xdg_config_home,
                                             const std::string& home,
                                             const std::string& share_dir) {
  // The XDG base directory spec says a relative $XDG_CONFIG_HOME is invalid and ignored.
  const std::string config =
      (!xdg_config_home.empty() && xdg_config_home[0] == '/') ? xdg_config_home
                                                               : home + "/.config";
  return {config + "/sandbox/profiles", "/etc/sandbox/profiles", share_dir + "/profiles"};
}

bool env_pattern_matches(const std::string& pattern, const std::string& name) {
  // Greedy glob with one backtrack point: on a mismatch, let the last `*` eat one more char.
  size_t p = 0, n = 0;
  size_t star = std::string::npos, star_n = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_n = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string::npos) {
      p = star + 1;
      n = ++star_n;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool is_valid_profile_name(const std::string& name) {
  if (name.empty() || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
  });
}

PathEntry parse_path_entry(const std::string& text, const std::string& key, const SourcePos& pos) {
  PathEntry entry;
  entry.pos = pos;
  std::string path = text;
  if (!path.empty() && path[0] == '?') {
    entry.optional = true;
    path.erase(0, 1);
  }
  const std::string quoted = "'" + text + "'";
  if (path.empty()) throw ProfileError(pos, key + ": empty path; " + kPathForms);
  if (path.find('\0') != std::string::npos) {
    throw ProfileError(pos, key + ": path contains a NUL character");
  }
  if (!has_allowed_root(path)) {
    throw ProfileError(pos, key + ": " + quoted + " is not allowed: " + kPathForms);
  }

  // Collapse "//" and check components in one pass. `..` is refused rather than resolved:
  // the planner resolves paths on the host without following them out of where they point.
  std::string normal;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string_view component(path.data() + start, end - start);
    if (component == "..") {
      throw ProfileError(pos, key + ": " + quoted + ": '..' components are not allowed");
    }
    if (!component.empty()) {
      if (!normal.empty() && normal.back() != '/') normal += '/';
      normal += component;
    } else if (start == 0) {
      normal = "/";  // the leading slash of an absolute path
    }
    start = end + 1;
  }
  entry.path = normal;
  return entry;
}

}  // namespace sandbox::profiles
