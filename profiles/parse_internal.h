// The parser of one profile file (parse.cc), shared by its two halves: parse.cc (the file's
// shape, version, extends, command, home, filesystem, env) and parse_sections.cc (network,
// display, dbus, desktop_entry, limits, security). Internal to profiles/.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "profiles/profile.h"

namespace sandbox::profiles::detail {

using Keys = std::vector<std::string_view>;

// Keys this version reads, per map, in the order "did you mean" prefers them.
inline const Keys kTopKeys{"version",  "name",     "description", "extends", "command", "home",
                    "filesystem", "network", "env",     "security", "instance", "display",
                    "audio",    "gpu",      "dbus",     "limits", "desktop_entry"};
inline const Keys kHomeKeys{"mode", "size"};
inline const Keys kFilesystemKeys{"rw", "ro", "hide", "show", "tmpfs", "dev"};
inline const Keys kDbusKeys{"session", "system"};
inline const Keys kDbusRuleKeys{"talk", "own", "see", "call", "broadcast"};
inline const Keys kNetworkKeys{"mode", "allow", "publish"};
inline const Keys kEnvKeys{"keep", "set"};
inline const Keys kSecurityKeys{"seccomp", "nested_userns"};
inline const Keys kLimitsKeys{"memory", "cpu", "pids", "io_weight", "timeout", "rlimits", "required"};
inline const Keys kRlimitKeys{"nofile", "nproc", "core", "fsize"};

// Keys of the schema (DESIGN.md) that later versions implement: refused by name, so a
// profile written for a newer launcher fails loudly instead of running with less isolation
// or less access than it asked for.
inline const Keys kTopLater{};
inline const Keys kHomeLater{};
inline const Keys kFilesystemLater{};
inline const Keys kNetworkLater{};
inline const Keys kNone{};

inline constexpr size_t kMaxShown = 40;  // longest scalar quoted back in a message

inline bool contains(const Keys& keys, const std::string& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// Optimal string alignment distance: Levenshtein plus adjacent transpositions ("mdoe").
inline size_t edit_distance(std::string_view a, std::string_view b) {
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
inline std::string suggestion(const std::string& key, const Keys& accepted) {
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

inline bool is_env_char(char c, bool first) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
         (!first && c >= '0' && c <= '9');
}

inline bool is_env_name(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!is_env_char(name[i], i == 0)) return false;
  }
  return true;
}

// A name where `*` may stand anywhere for any run of characters ("LC_*", "*_PROXY").
inline bool is_env_pattern(const std::string& pattern) {
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

}  // namespace sandbox::profiles::detail
