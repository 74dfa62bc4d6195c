// The profile model: what a YAML profile says, after `extends` merging, before any host
// facts (uid, $HOME, ...) are applied. Pure data; see man/sandbox-profile.5 for the schema.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sandbox::profiles {

enum class HomeMode { kOverlay, kEphemeral, kTmpfs, kBind, kRo };
enum class NetworkMode { kNone, kHost, kFiltered };
enum class SeccompPolicy { kDefault, kStrict, kDevel };
enum class InstanceMode { kSingle, kMulti };
enum class DisplayKind { kWayland, kX11 };

const char* to_string(HomeMode mode);
const char* to_string(NetworkMode mode);
const char* to_string(SeccompPolicy policy);
const char* to_string(InstanceMode mode);
std::optional<HomeMode> parse_home_mode(const std::string& text);
std::optional<NetworkMode> parse_network_mode(const std::string& text);
std::optional<SeccompPolicy> parse_seccomp_policy(const std::string& text);
std::optional<InstanceMode> parse_instance_mode(const std::string& text);
std::optional<DisplayKind> parse_display_kind(const std::string& text);
const char* to_string(DisplayKind kind);
// A bus name, or a namespace of them ending in ".*" (org.freedesktop.portal.*).
bool is_dbus_name_pattern(const std::string& text);
// NAME=RULE, as xdg-dbus-proxy's --call and --broadcast take it.
bool is_dbus_rule(const std::string& text);

// A size such as "4G", "512M", "100k" or "1048576" (bytes; K, M, G, T are powers of 1024).
std::optional<unsigned long long> parse_size(const std::string& text);

// Where a value was written: 1-based line and column. line == 0 means "not from a file"
// (a command-line override), and `file` then says where it came from ("--rw").
struct SourcePos {
  std::string file;
  int line = 0;
  int column = 0;
  bool operator==(const SourcePos&) const = default;
  std::string str() const;  // "file:line:col", or just `file` when line == 0
};

// A path as written in a profile: absolute, or starting with `~`, `$HOME` or `$XDG_*`
// (validated by the loader; expanded later by the planner, which knows the host).
// A leading `?` in the YAML marks it optional: skipped when it does not exist on the host.
struct PathEntry {
  std::string path;  // without the `?`
  bool optional = false;
  SourcePos pos;
  bool operator==(const PathEntry&) const = default;
};

// What a sandbox may do on one D-Bus bus, through xdg-dbus-proxy (its --talk, --own, --see,
// --call, --broadcast). `enabled`: the profile has this bus at all; without it, no bus.
struct DbusPolicy {
  bool enabled = false;
  std::vector<std::string> talk, own, see, call, broadcast;
  bool operator==(const DbusPolicy&) const = default;
};

// Resource limits (limits:). Unset fields are "no limit".
struct Limits {
  std::optional<unsigned long long> memory;  // bytes: memory.max (and swap alongside)
  std::optional<double> cpu;                 // cores: cpu.max
  std::optional<unsigned long long> pids;    // pids.max
  std::optional<unsigned> io_weight;         // io.weight, 1..10000
  std::optional<double> timeout;             // wall-clock seconds; 0 = none
  std::map<std::string, unsigned long long> rlimits;  // nofile, nproc, core, fsize; ~0 = unlimited
  std::optional<bool> required;              // refuse to start without the cgroup limits
  bool operator==(const Limits&) const = default;
};

// One `network.allow` rule as written ("example.com:443/tcp"); its syntax is checked by the
// planner (netpolicy/rules.h), which reports errors at `pos`.
struct NetRule {
  std::string text;
  SourcePos pos;
  bool operator==(const NetRule&) const = default;
};

struct EnvSet {
  std::string name;
  std::string value;
  SourcePos pos;
  bool operator==(const EnvSet&) const = default;
};

// Scalars are optional so that merging can tell "not set here" from "set to the default".
struct Profile {
  std::string name;         // `name:`, else the file's stem
  std::string description;
  std::string file;         // the file this profile was loaded from (the leaf of `extends`)
  std::vector<std::string> extends_files;  // every file merged, bases first, `file` last
  std::optional<std::vector<std::string>> command;  // overrides, never appends
  std::optional<HomeMode> home_mode;
  std::optional<unsigned long long> home_size;  // bytes: cap of a tmpfs home or layer
  std::optional<InstanceMode> instance;
  std::vector<PathEntry> rw, ro, hide, tmpfs;
  std::vector<PathEntry> dev;  // extra device nodes (filesystem.dev)
  // Lifts `hide` entries of the same path inherited through `extends` (a browser's profile
  // shows its own ~/.mozilla, which `default` hides from everything else).
  std::vector<PathEntry> show;
  std::optional<std::vector<DisplayKind>> display;  // lists append (deduplicated)
  std::optional<bool> audio;
  std::optional<bool> gpu;
  DbusPolicy dbus_session, dbus_system;
  Limits limits;
  std::optional<NetworkMode> network_mode;
  std::vector<NetRule> net_allow;         // lists append
  std::vector<unsigned> publish;          // ports exposed on the host's 127.0.0.1
  std::vector<std::string> env_keep;  // names, `*` matches any run of characters
  std::vector<EnvSet> env_set;        // in order; a later entry for the same name wins
  std::optional<SeccompPolicy> seccomp;
  std::optional<bool> nested_userns;
  std::optional<std::string> desktop_entry;  // the app's desktop file id ("foo.desktop")
  bool operator==(const Profile&) const = default;
};

// Every profile problem: a malformed file, a bad value, an unknown key, a cycle, a missing file.
// what() is "FILE:LINE:COL: message" (or "FILE: message" when there is no position).
class ProfileError : public std::runtime_error {
 public:
  ProfileError(const SourcePos& pos, const std::string& message);
  const SourcePos& pos() const { return pos_; }
  const std::string& message() const { return message_; }

 private:
  SourcePos pos_;
  std::string message_;
};

// Parses one file's text without resolving `extends`. `file` is used in messages only.
// The returned profile has `extends` names in `extends_names` (with their positions).
struct ParsedFile {
  Profile profile;
  std::vector<std::pair<std::string, SourcePos>> extends_names;
  bool operator==(const ParsedFile&) const = default;
};
ParsedFile parse_profile_text(const std::string& text, const std::string& file);

// `overlay` is merged on top of `base`: lists append, scalars present in `overlay` override,
// env.set entries are appended (later wins), name/description/file come from `overlay`.
Profile merge(const Profile& base, const Profile& overlay);

// The search path of DESIGN.md, first hit wins:
//   $XDG_CONFIG_HOME/sandbox/profiles (default ~/.config/sandbox/profiles),
//   /etc/sandbox/profiles, <share_dir>/profiles.
std::vector<std::string> default_search_dirs(const std::string& xdg_config_home,
                                             const std::string& home,
                                             const std::string& share_dir);

struct ProfileListing {
  std::string name;
  std::string file;
  std::string description;
  std::vector<std::string> shadowed;  // files of the same name further down the search path
};

class ParseCache;  // parse_cache.h

class Loader {
 public:
  explicit Loader(std::vector<std::string> search_dirs);

  // A name (looked up as NAME.yaml in the search dirs) or, when it contains '/' or ends in
  // ".yaml", a path. Resolves `extends` (names, or paths relative to the extending file),
  // detects cycles. Throws ProfileError.
  Profile load(const std::string& name_or_path) const;
  Profile load_file(const std::string& path) const;

  // The file a name resolves to, if any (no parsing).
  std::optional<std::string> find(const std::string& name) const;

  // Every NAME.yaml in the search dirs, first hit per name, sorted by name. Files that fail
  // to parse are listed with description "(invalid: ...)".
  std::vector<ProfileListing> list() const;

  const std::vector<std::string>& search_dirs() const { return dirs_; }

  // Parses through `cache` (parse_cache.h) from now on; nullptr: always parse.
  void use_cache(const ParseCache* cache) { cache_ = cache; }

 private:
  Profile load_file_depth(const std::string& path, std::vector<std::string>& stack,
                          const SourcePos& from) const;
  std::vector<std::string> dirs_;
  const ParseCache* cache_ = nullptr;
};

// True when `name` matches `pattern`, where `*` matches any run of characters.
bool env_pattern_matches(const std::string& pattern, const std::string& name);

// A profile name: [A-Za-z0-9._-]+, not starting with '.' (it names files and directories,
// so "..", ".hidden" and anything with '/' are refused).
bool is_valid_profile_name(const std::string& name);

// Validates one path as a profile (or a command-line override such as `--rw`) writes it:
// an optional leading `?`, then `/...`, `~`, `~/...`, `$HOME[/...]` or `$XDG_*_HOME`,
// `$XDG_RUNTIME_DIR` (alone or followed by `/...`); no `..` component. Repeated slashes are
// collapsed and trailing ones dropped; nothing is expanded. Throws ProfileError at `pos`
// with a message starting "KEY: ".
PathEntry parse_path_entry(const std::string& text, const std::string& key, const SourcePos& pos);

}  // namespace sandbox::profiles
