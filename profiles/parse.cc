// One profile file's YAML text -> ParsedFile, with every problem reported as a ProfileError
// at the file:line:col of the node at fault. `extends` is collected here, resolved by loader.cc.
// The sections of later issues (network, desktop, limits, security) are in parse_sections.cc.
#include <filesystem>

#include "profiles/parse_internal.h"

namespace sandbox::profiles {

using namespace detail;

namespace detail {

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

}  // namespace detail

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
