// One profile file's YAML text -> ParsedFile, with every problem reported as a ProfileError
// at the file:line:col of the node at fault. `extends` is collected here, resolved by loader.cc.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <filesystem>
#include <set>
#include <string_view>

#include "profiles/profile.h"

namespace sandbox::profiles {

namespace {

using Keys = std::vector<std::string_view>;

// Keys this version reads, per map, in the order "did you mean" prefers them.
const Keys kTopKeys{"version",  "name",     "description", "extends", "command", "home",
                    "filesystem", "network", "env",     "security", "instance", "display",
                    "audio",    "gpu",      "dbus",     "limits", "desktop_entry"};
const Keys kHomeKeys{"mode", "size"};
const Keys kFilesystemKeys{"rw", "ro", "hide", "show", "tmpfs", "dev"};
const Keys kDbusKeys{"session", "system"};
const Keys kDbusRuleKeys{"talk", "own", "see", "call", "broadcast"};
const Keys kNetworkKeys{"mode", "allow", "publish"};
const Keys kEnvKeys{"keep", "set"};
const Keys kSecurityKeys{"seccomp", "nested_userns"};
const Keys kLimitsKeys{"memory", "cpu", "pids", "io_weight", "timeout", "rlimits", "required"};
const Keys kRlimitKeys{"nofile", "nproc", "core", "fsize"};

// Keys of the schema (DESIGN.md) that later versions implement: refused by name, so a
// profile written for a newer launcher fails loudly instead of running with less isolation
// or less access than it asked for.
const Keys kTopLater{};
const Keys kHomeLater{};
const Keys kFilesystemLater{};
const Keys kNetworkLater{};
const Keys kNone{};

constexpr size_t kMaxShown = 40;  // longest scalar quoted back in a message

bool contains(const Keys& keys, const std::string& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// Optimal string alignment distance: Levenshtein plus adjacent transpositions ("mdoe").
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The closest accepted key within distance 2; a key no longer than the distance (e.g. "x"
// vs "rw") shares nothing with the suggestion, so it gets none.
std::string suggestion(const std::string& key, const Keys& accepted) {
  std::string best;
  size_t best_distance = 3;
  for (std::string_view candidate : accepted) {
    const size_t distance = edit_distance(key, candidate);
    if (distance < best_distance && distance < key.size()) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

bool is_env_char(char c, bool first) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
         (!first && c >= '0' && c <= '9');
}

bool is_env_name(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!is_env_char(name[i], i == 0)) return false;
  }
  return true;
}

// A name where `*` may stand anywhere for any run of characters ("LC_*", "*_PROXY").
bool is_env_pattern(const std::string& pattern) {
  if (pattern.empty()) return false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '*' && !is_env_char(pattern[i], i == 0)) return false;
  }
  return true;
}

struct Entry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

class Parser {
 public:
  Parser(const std::string& text, const std::string& file) : text_(text), file_(file) {}

  ParsedFile parse(const YAML::Node& root);

 private:
  [[noreturn]] void fail(const SourcePos& pos, const std::string& message) const {
    throw ProfileError(pos, message);
  }

  SourcePos pos_of(const YAML::Node& node) const {
    const YAML::Mark mark = node.Mark();
    if (mark.is_null()) return {file_, 0, 0};
    return {file_, mark.line + 1, mark.column + 1};
  }

  // The text a null node was written as: "~", "null", ... or "" for an empty value.
  // yaml-cpp keeps no text for nulls, so look at the source where the node starts.
  std::string null_token(const YAML::Node& node) const {
    const YAML::Mark mark = node.Mark();
    if (mark.is_null() || mark.pos < 0 || static_cast<size_t>(mark.pos) >= text_.size()) {
      return "";
    }
    const std::string_view rest = std::string_view(text_).substr(mark.pos);
    for (std::string_view token : {"null", "Null", "NULL", "~"}) {
      if (rest.substr(0, token.size()) != token) continue;
      const std::string_view after = rest.substr(token.size());
      if (after.empty() || std::string_view(" \t\r\n,]}#").find(after[0]) != std::string::npos) {
        return std::string(token);
      }
    }
    return "";
  }

  // Where a value is. An empty value's mark points at the next token, so use the key's.
  SourcePos value_pos(const Entry& entry) const {
    if (entry.value.IsNull() && null_token(entry.value).empty()) return pos_of(entry.key_node);
    return pos_of(entry.value);
  }

  std::string describe(const YAML::Node& node) const {
    switch (node.Type()) {
      case YAML::NodeType::Map:
        return "a map";
      case YAML::NodeType::Sequence:
        return node.size() == 0 ? "an empty list" : "a list";
      case YAML::NodeType::Scalar: {
        std::string text = node.Scalar();
        if (text.size() > kMaxShown) text = text.substr(0, kMaxShown) + "...";
        return "'" + text + "'";
      }
      default: {
        const std::string token = null_token(node);
        return token.empty() ? "nothing" : "'" + token + "'";
      }
    }
  }

  [[noreturn]] void wrong_type(const Entry& entry, const std::string& label,
                               const std::string& expected) const {
    fail(value_pos(entry), label + ": expected " + expected + ", got " + describe(entry.value));
  }

  // A map's entries in order. Keys must be plain strings, each written once: yaml-cpp 0.7
  // keeps both copies of a duplicated key, and which one a lookup finds is unspecified.
  std::vector<Entry> entries(const YAML::Node& map, const std::string& label) const {
    std::vector<Entry> out;
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) {
        fail(pos_of(key), label + ": expected a key name, got " + describe(key));
      }
      if (!seen.insert(key.Scalar()).second) {
        fail(pos_of(key), "duplicate key '" + key.Scalar() + "'");
      }
      out.push_back({key.Scalar(), key, it->second});
    }
    return out;
  }

  // Refuses keys of later versions and unknown keys. `prefix` is "" or "home." etc.
  void check_key(const Entry& entry, const std::string& prefix, const std::string& section,
                 const Keys& accepted, const Keys& later) const {
    if (contains(accepted, entry.key)) return;
    if (contains(later, entry.key)) {
      fail(pos_of(entry.key_node), prefix + entry.key + " is not supported yet");
    }
    std::string message = "unknown key '" + entry.key + "' in " + section;
    const std::string hint = suggestion(entry.key, accepted);
    if (!hint.empty()) message += "; did you mean '" + hint + "'?";
    fail(pos_of(entry.key_node), message);
  }

  // A section's entries, checked against its keys. An empty section (every line under it
  // commented out) is allowed and means nothing is set.
  // `parent` is the dotted path above entry ("dbus" for dbus.session), "" at the top.
  std::vector<Entry> section(const Entry& entry, const Keys& accepted, const Keys& later,
                             const std::string& parent = "") const {
    const std::string name = parent.empty() ? entry.key : parent + "." + entry.key;
    if (entry.value.IsNull()) return {};
    if (!entry.value.IsMap()) wrong_type(entry, name, "a map");
    std::vector<Entry> out = entries(entry.value, name);
    for (const Entry& e : out) check_key(e, name + ".", name, accepted, later);
    return out;
  }

  std::string string_value(const Entry& entry, const std::string& label) const {
    if (!entry.value.IsScalar()) wrong_type(entry, label, "a string");
    return entry.value.Scalar();
  }

  template <typename Enum>
  Enum enum_value(const Entry& entry, const std::string& label,
                  std::optional<Enum> (*parse_text)(const std::string&), const char* choices) const {
    if (!entry.value.IsScalar()) wrong_type(entry, label, std::string("one of ") + choices);
    const std::optional<Enum> value = parse_text(entry.value.Scalar());
    if (!value) {
      fail(value_pos(entry), label + ": " + describe(entry.value) + " is not one of " + choices);
    }
    return *value;
  }

  // A list value; an empty value is an empty list.
  std::vector<YAML::Node> list_items(const Entry& entry, const std::string& label,
                                     const std::string& expected) const {
    if (entry.value.IsNull() && null_token(entry.value).empty()) return {};
    if (!entry.value.IsSequence()) {
      std::string message = label + ": expected " + expected + ", got " + describe(entry.value);
      // `hide: ~` is YAML's null, not the home directory: say how to write that.
      if (null_token(entry.value) == "~" && label.rfind("filesystem.", 0) == 0) {
        message += " (write [~] for the home directory)";
      }
      fail(value_pos(entry), message);
    }
    return std::vector<YAML::Node>(entry.value.begin(), entry.value.end());
  }

  void parse_version(const std::vector<Entry>& top) const;
  void parse_extends(const Entry& entry, ParsedFile& out) const;
  void parse_command(const Entry& entry, Profile& profile) const;
  void parse_home(const Entry& entry, Profile& profile) const;
  void parse_filesystem(const Entry& entry, Profile& profile) const;
  std::vector<PathEntry> parse_paths(const Entry& entry, const std::string& label) const;
  void parse_network(const Entry& entry, Profile& profile) const;
  void parse_env(const Entry& entry, Profile& profile) const;
  void parse_security(const Entry& entry, Profile& profile) const;
  void parse_display(const Entry& entry, Profile& profile) const;
  void parse_limits(const Entry& entry, Profile& profile) const;
  double number_value(const Entry& e, const std::string& label, double min, double max) const;
  void parse_dbus(const Entry& entry, Profile& profile) const;
  void parse_desktop_entry(const Entry& entry, Profile& profile) const;
  bool bool_value(const Entry& e, const std::string& label) const;

  const std::string& text_;
  const std::string& file_;
};

ParsedFile Parser::parse(const YAML::Node& root) {
  if (!root.IsMap()) {
    fail(pos_of(root), "expected a map of profile keys starting with 'version: 1', got " +
                           describe(root));
  }
  const std::vector<Entry> top = entries(root, "the profile");
  parse_version(top);  // first: a newer file's other keys make sense only in its version

  ParsedFile out;
  Profile& profile = out.profile;
  profile.file = file_;
  profile.extends_files = {file_};
  bool named = false;
  for (const Entry& entry : top) {
    check_key(entry, "", "the profile", kTopKeys, kTopLater);
    if (entry.key == "name") {
      profile.name = string_value(entry, "name");
      if (!is_valid_profile_name(profile.name)) {
        fail(value_pos(entry), "name: '" + profile.name +
                                   "' is not a valid profile name (letters, digits, '.', '_' "
                                   "and '-', not starting with '.')");
      }
      named = true;
    } else if (entry.key == "description") {
      profile.description = string_value(entry, "description");
    } else if (entry.key == "extends") {
      parse_extends(entry, out);
    } else if (entry.key == "command") {
      parse_command(entry, profile);
    } else if (entry.key == "home") {
      parse_home(entry, profile);
    } else if (entry.key == "filesystem") {
      parse_filesystem(entry, profile);
    } else if (entry.key == "network") {
      parse_network(entry, profile);
    } else if (entry.key == "env") {
      parse_env(entry, profile);
    } else if (entry.key == "security") {
      parse_security(entry, profile);
    } else if (entry.key == "display") {
      parse_display(entry, profile);
    } else if (entry.key == "audio") {
      profile.audio = bool_value(entry, "audio");
    } else if (entry.key == "gpu") {
      profile.gpu = bool_value(entry, "gpu");
    } else if (entry.key == "dbus") {
      parse_dbus(entry, profile);
    } else if (entry.key == "limits") {
      parse_limits(entry, profile);
    } else if (entry.key == "desktop_entry") {
      parse_desktop_entry(entry, profile);
    } else if (entry.key == "instance") {
      profile.instance = enum_value<InstanceMode>(entry, "instance", parse_instance_mode,
                                                  "single, multi");
    }
  }
  if (!named) {
    // The name names the app's persistent home layer, so a file name that is not a valid
    // name must not silently become one.
    profile.name = std::filesystem::path(file_).stem().string();
    if (!is_valid_profile_name(profile.name)) {
      fail({file_, 0, 0}, "the file name '" + profile.name +
                              "' is not a valid profile name (letters, digits, '.', '_' and "
                              "'-', not starting with '.'); add a 'name:' key");
    }
  }
  return out;
}

void Parser::parse_version(const std::vector<Entry>& top) const {
  const auto it = std::find_if(top.begin(), top.end(),
                               [](const Entry& e) { return e.key == "version"; });
  if (it == top.end()) fail({file_, 1, 1}, "missing 'version: 1'");
  const YAML::Node& value = it->value;
  if (value.IsScalar()) {
    const std::string& text = value.Scalar();
    // A plain scalar has tag "?"; "1" in quotes is a string, not the number 1.
    const bool plain = value.Tag() == "?";
    const bool digits = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
      return c >= '0' && c <= '9';
    });
    if (plain && text == "1") return;
    if (plain && digits) {
      fail(value_pos(*it), "version: version " + text +
                               " is not supported (this sandbox reads version 1)");
    }
    if (!plain && digits) {
      fail(value_pos(*it), "version: expected the number 1, got the string '" + text +
                               "' (write it without quotes)");
    }
  }
  wrong_type(*it, "version", "the number 1");
}

void Parser::parse_extends(const Entry& entry, ParsedFile& out) const {
  std::vector<YAML::Node> items;
  if (entry.value.IsScalar()) {
    items.push_back(entry.value);
  } else {
    items = list_items(entry, "extends", "a profile name or a list of them");
  }
  for (const YAML::Node& item : items) {
    if (!item.IsScalar()) {
      fail(pos_of(item), "extends: expected a profile name or path, got " + describe(item));
    }
    if (item.Scalar().empty()) fail(pos_of(item), "extends: empty profile name");
    out.extends_names.emplace_back(item.Scalar(), pos_of(item));
  }
}

void Parser::parse_command(const Entry& entry, Profile& profile) const {
  if (!entry.value.IsSequence()) wrong_type(entry, "command", "a list of strings");
  if (entry.value.size() == 0) wrong_type(entry, "command", "a non-empty list of strings");
  std::vector<std::string> argv;
  for (const YAML::Node& item : entry.value) {
    if (!item.IsScalar()) fail(pos_of(item), "command: expected a string, got " + describe(item));
    if (item.Scalar().find('\0') != std::string::npos) {
      fail(pos_of(item), "command: argument contains a NUL character");
    }
    if (argv.empty() && item.Scalar().empty()) {
      fail(pos_of(item), "command: the program to run is empty");
    }
    argv.push_back(item.Scalar());
  }
  profile.command = std::move(argv);
}

void Parser::parse_home(const Entry& entry, Profile& profile) const {
  for (const Entry& e : section(entry, kHomeKeys, kHomeLater)) {
    if (e.key == "size") {
      const std::string text = e.value.IsScalar() ? e.value.Scalar() : std::string();
      const auto size = parse_size(text);
      if (!e.value.IsScalar() || !size || *size == 0) {
        fail(value_pos(e), "home.size: expected a size such as 4G, 512M or 100K, got " +
                               describe(e.value));
      }
      profile.home_size = size;
      continue;
    }
    profile.home_mode = enum_value<HomeMode>(e, "home.mode", parse_home_mode,
                                             "overlay, ephemeral, tmpfs, bind, ro");
  }
}

std::vector<PathEntry> Parser::parse_paths(const Entry& entry, const std::string& label) const {
  std::vector<PathEntry> out;
  for (const YAML::Node& item : list_items(entry, label, "a list of paths")) {
    std::string text;
    if (item.IsScalar()) {
      text = item.Scalar();
    } else if (item.IsNull() && null_token(item) == "~") {
      text = "~";  // `[~]`: YAML reads a bare ~ as null, but here it can only mean home
    } else {
      fail(pos_of(item), label + ": expected a path, got " + describe(item));
    }
    out.push_back(parse_path_entry(text, label, pos_of(item)));
  }
  return out;
}

void Parser::parse_filesystem(const Entry& entry, Profile& profile) const {
  for (const Entry& e : section(entry, kFilesystemKeys, kFilesystemLater)) {
    std::vector<PathEntry> paths = parse_paths(e, "filesystem." + e.key);
    std::vector<PathEntry>& to = e.key == "rw"     ? profile.rw
                                 : e.key == "ro"   ? profile.ro
                                 : e.key == "hide" ? profile.hide
                                 : e.key == "dev"  ? profile.dev
                                 : e.key == "show" ? profile.show
                                                   : profile.tmpfs;
    to.insert(to.end(), paths.begin(), paths.end());
  }
}

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

}  // namespace

ParsedFile parse_profile_text(const std::string& text, const std::string& file) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    // yaml-cpp marks are 0-based; ours are 1-based like every editor's.
    if (e.mark.is_null()) throw ProfileError({file, 0, 0}, e.msg);
    throw ProfileError({file, e.mark.line + 1, e.mark.column + 1}, e.msg);
  }
  if (documents.empty() || (documents.size() == 1 && documents[0].IsNull())) {
    throw ProfileError({file, 1, 1}, "empty profile; it needs at least 'version: 1'");
  }
  Parser parser(text, file);
  // YAML::LoadAll would otherwise let a second document (after `---`) be silently ignored.
  for (size_t i = 1; i < documents.size(); ++i) {
    if (documents[i].IsNull()) continue;
    const YAML::Mark mark = documents[i].Mark();
    const SourcePos pos = mark.is_null() ? SourcePos{file, 0, 0}
                                         : SourcePos{file, mark.line + 1, mark.column + 1};
    throw ProfileError(pos, "a profile is one YAML document; found a second one");
  }
  try {
    return parser.parse(documents[0]);
  } catch (const YAML::Exception& e) {
    // Not expected (the parser only reads scalars and iterates), but never let it escape.
    throw ProfileError({file, 0, 0}, e.msg);
  }
}

}  // namespace sandbox::profiles
