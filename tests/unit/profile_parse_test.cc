// parse_profile_text: every field, and every class of error with its exact text and position.
#include <gtest/gtest.h>

#include <string>

#include "profiles/profile.h"

namespace sandbox::profiles {
namespace {

using namespace std::string_literals;

// "FILE:LINE:COL: message" of the error parsing `yaml` raises, or "no error".
std::string error_of(const std::string& yaml, const std::string& file = "t.yaml") {
  try {
    parse_profile_text(yaml, file);
  } catch (const ProfileError& e) {
    return e.what();
  }
  return "no error";
}

Profile parse(const std::string& yaml, const std::string& file = "t.yaml") {
  return parse_profile_text(yaml, file).profile;
}

TEST(ProfileParse, ReadsEveryField) {
  const ParsedFile parsed = parse_profile_text(R"(version: 1
name: my-app
description: My application
extends: [base, ./lib/other.yaml]
command: [my-app, --flag, 10]
home:
  mode: ephemeral
filesystem:
  rw: [~/Downloads, /srv/data/]
  ro: ["?$XDG_CONFIG_HOME/app"]
  hide: [~/.ssh]
  tmpfs: [~/.cache]
network:
  mode: host
env:
  keep: [LANG, LC_*]
  set: {A: one, B: 2, C: true}
security:
  seccomp: devel
  nested_userns: true
)",
                                               "/p/my.yaml");
  const Profile& p = parsed.profile;
  EXPECT_EQ(p.name, "my-app");
  EXPECT_EQ(p.description, "My application");
  EXPECT_EQ(p.file, "/p/my.yaml");
  EXPECT_EQ(p.extends_files, std::vector<std::string>{"/p/my.yaml"});
  ASSERT_EQ(parsed.extends_names.size(), 2u);
  EXPECT_EQ(parsed.extends_names[0].first, "base");
  EXPECT_EQ(parsed.extends_names[0].second.str(), "/p/my.yaml:4:11");
  EXPECT_EQ(parsed.extends_names[1].first, "./lib/other.yaml");
  EXPECT_EQ(parsed.extends_names[1].second.str(), "/p/my.yaml:4:17");
  EXPECT_EQ(p.command, (std::vector<std::string>{"my-app", "--flag", "10"}));
  EXPECT_EQ(p.home_mode, HomeMode::kEphemeral);
  ASSERT_EQ(p.rw.size(), 2u);
  EXPECT_EQ(p.rw[0].path, "~/Downloads");
  EXPECT_FALSE(p.rw[0].optional);
  EXPECT_EQ(p.rw[0].pos.str(), "/p/my.yaml:9:8");
  EXPECT_EQ(p.rw[1].path, "/srv/data");
  ASSERT_EQ(p.ro.size(), 1u);
  EXPECT_EQ(p.ro[0].path, "$XDG_CONFIG_HOME/app");
  EXPECT_TRUE(p.ro[0].optional);
  ASSERT_EQ(p.hide.size(), 1u);
  EXPECT_EQ(p.hide[0].path, "~/.ssh");
  ASSERT_EQ(p.tmpfs.size(), 1u);
  EXPECT_EQ(p.tmpfs[0].path, "~/.cache");
  EXPECT_EQ(p.network_mode, NetworkMode::kHost);
  EXPECT_EQ(p.env_keep, (std::vector<std::string>{"LANG", "LC_*"}));
  ASSERT_EQ(p.env_set.size(), 3u);
  EXPECT_EQ(p.env_set[0].name, "A");
  EXPECT_EQ(p.env_set[0].value, "one");
  EXPECT_EQ(p.env_set[0].pos.str(), "/p/my.yaml:17:9");
  EXPECT_EQ(p.env_set[1].value, "2");
  EXPECT_EQ(p.env_set[2].value, "true");
  EXPECT_EQ(p.seccomp, SeccompPolicy::kDevel);
  EXPECT_EQ(p.nested_userns, true);
}

TEST(ProfileParse, MinimalProfileLeavesEverythingUnset) {
  const Profile p = parse("version: 1\n", "/some/dir/foo.yaml");
  EXPECT_EQ(p.name, "foo");  // the file's stem
  EXPECT_EQ(p.description, "");
  EXPECT_EQ(p.file, "/some/dir/foo.yaml");
  EXPECT_FALSE(p.command);
  EXPECT_FALSE(p.home_mode);
  EXPECT_FALSE(p.network_mode);
  EXPECT_FALSE(p.seccomp);
  EXPECT_FALSE(p.nested_userns);
  EXPECT_TRUE(p.rw.empty() && p.ro.empty() && p.hide.empty() && p.tmpfs.empty());
  EXPECT_TRUE(p.env_keep.empty() && p.env_set.empty());
}

TEST(ProfileParse, NameFromStemMustBeValid) {
  EXPECT_EQ(error_of("version: 1\n", "/x/.hidden.yaml"),
            "/x/.hidden.yaml: the file name '.hidden' is not a valid profile name (letters, "
            "digits, '.', '_' and '-', not starting with '.'); add a 'name:' key");
  EXPECT_EQ(parse("version: 1\nname: ok\n", "/x/my profile.yaml").name, "ok");
  EXPECT_EQ(parse("version: 1\n", "/x/a.b_c-d.yaml").name, "a.b_c-d");
}

TEST(ProfileParse, BadName) {
  EXPECT_EQ(error_of("version: 1\nname: ../x\n"),
            "t.yaml:2:7: name: '../x' is not a valid profile name (letters, digits, '.', '_' "
            "and '-', not starting with '.')");
  EXPECT_EQ(error_of("version: 1\nname: .x\n"),
            "t.yaml:2:7: name: '.x' is not a valid profile name (letters, digits, '.', '_' "
            "and '-', not starting with '.')");
  EXPECT_EQ(error_of("version: 1\nname:\n"), "t.yaml:2:1: name: expected a string, got nothing");
}

TEST(ProfileParse, EmptySectionsAndListsAreAllowed) {
  const Profile p = parse("version: 1\nfilesystem:\n  # rw: [~/x]\nhome:\nenv:\n  keep:\n");
  EXPECT_TRUE(p.rw.empty());
  EXPECT_FALSE(p.home_mode);
  EXPECT_TRUE(p.env_keep.empty());
}

TEST(ProfileParse, UnknownKeys) {
  EXPECT_EQ(error_of("version: 1\nfoo: 1\n"), "t.yaml:2:1: unknown key 'foo' in the profile");
  EXPECT_EQ(error_of("version: 1\nfilesystem:\n  rww: []\n"),
            "t.yaml:3:3: unknown key 'rww' in filesystem; did you mean 'rw'?");
  EXPECT_EQ(error_of("version: 1\ncomand: [x]\n"),
            "t.yaml:2:1: unknown key 'comand' in the profile; did you mean 'command'?");
  EXPECT_EQ(error_of("version: 1\nhome:\n  mdoe: ro\n"),
            "t.yaml:3:3: unknown key 'mdoe' in home; did you mean 'mode'?");
  EXPECT_EQ(error_of("version: 1\nsecurity:\n  nested_user: true\n"),
            "t.yaml:3:3: unknown key 'nested_user' in security; did you mean 'nested_userns'?");
  EXPECT_EQ(error_of("version: 1\nenv:\n  kep: []\n"),
            "t.yaml:3:3: unknown key 'kep' in env; did you mean 'keep'?");
  EXPECT_EQ(error_of("version: 1\nnetwork:\n  node: none\n"),
            "t.yaml:3:3: unknown key 'node' in network; did you mean 'mode'?");
  // Three edits away, or nothing in common: no suggestion.
  EXPECT_EQ(error_of("version: 1\nfilesystem:\n  readwrite: []\n"),
            "t.yaml:3:3: unknown key 'readwrite' in filesystem");
  EXPECT_EQ(error_of("version: 1\nfilesystem:\n  x: []\n"),
            "t.yaml:3:3: unknown key 'x' in filesystem");
  // Keys of other sections are unknown where they do not belong.
  EXPECT_EQ(error_of("version: 1\nhome:\n  version: 1\n"),
            "t.yaml:3:3: unknown key 'version' in home");
}

TEST(ProfileParse, NetworkKeys) {
  const Profile p = parse_profile_text(
      "version: 1\nnetwork:\n  mode: filtered\n  allow: [example.com:443, lan]\n  publish: [8080, 9090]\n",
      "t.yaml").profile;
  EXPECT_EQ(p.network_mode, NetworkMode::kFiltered);
  ASSERT_EQ(p.net_allow.size(), 2u);
  EXPECT_EQ(p.net_allow[0].text, "example.com:443");
  EXPECT_EQ(p.net_allow[0].pos.str(), "t.yaml:4:11");
  EXPECT_EQ(p.publish, (std::vector<unsigned>{8080, 9090}));
  EXPECT_EQ(error_of("version: 1\nnetwork:\n  allow: example.com\n"),
            "t.yaml:3:10: network.allow: expected a list of rules (example.com:443, *.example.org, "
            "10.0.0.0/8, lan, localhost:8080), got 'example.com'");
  EXPECT_EQ(error_of("version: 1\nnetwork:\n  allow: [[a]]\n"),
            "t.yaml:3:11: network.allow: expected a rule such as example.com:443, got a list");
  EXPECT_EQ(error_of("version: 1\nnetwork:\n  publish: [70000]\n"),
            "t.yaml:3:13: network.publish: expected a port number 1-65535, got '70000'");
  EXPECT_EQ(error_of("version: 1\nnetwork:\n  mode: open\n"),
            "t.yaml:3:9: network.mode: 'open' is not one of none, host, filtered");
}

TEST(ProfileParse, DesktopKeys) {
  const Profile p = parse_profile_text(
      "version: 1\ndisplay: [wayland, x11, x11]\naudio: true\ngpu: false\n"
      "filesystem:\n  dev: [/dev/video0]\n"
      "dbus:\n  session:\n    talk: [org.freedesktop.portal.*]\n    own: [org.mozilla.firefox.*]\n"
      "    call: [org.example.A=org.example.I.M@/p]\n  system: {}\n",
      "t.yaml").profile;
  ASSERT_TRUE(p.display);
  EXPECT_EQ(*p.display, (std::vector<DisplayKind>{DisplayKind::kWayland, DisplayKind::kX11}));
  EXPECT_EQ(p.audio, true);
  EXPECT_EQ(p.gpu, false);
  ASSERT_EQ(p.dev.size(), 1u);
  EXPECT_EQ(p.dev[0].path, "/dev/video0");
  EXPECT_TRUE(p.dbus_session.enabled);
  EXPECT_EQ(p.dbus_session.talk, (std::vector<std::string>{"org.freedesktop.portal.*"}));
  EXPECT_EQ(p.dbus_session.own, (std::vector<std::string>{"org.mozilla.firefox.*"}));
  EXPECT_EQ(p.dbus_session.call, (std::vector<std::string>{"org.example.A=org.example.I.M@/p"}));
  EXPECT_TRUE(p.dbus_system.enabled);
  EXPECT_TRUE(p.dbus_system.talk.empty());
  EXPECT_EQ(error_of("version: 1\ndisplay: [mir]\n"), "t.yaml:2:11: display: 'mir' is not one of wayland, x11");
  EXPECT_EQ(error_of("version: 1\naudio: loud\n"), "t.yaml:2:8: audio: expected true or false, got 'loud'");
  EXPECT_EQ(error_of("version: 1\ndbus:\n  session:\n    talk: [notaname]\n"),
            "t.yaml:4:12: dbus.session.talk: 'notaname' is not a bus name (e.g. org.freedesktop.portal.*)");
  EXPECT_EQ(error_of("version: 1\ndbus:\n  session:\n    tallk: []\n"),
            "t.yaml:4:5: unknown key 'tallk' in dbus.session; did you mean 'talk'?");
}

TEST(ProfileParse, Limits) {
  const Profile p = parse_profile_text(
      "version: 1\nlimits:\n  memory: 512M\n  cpu: 0.5\n  pids: 64\n  io_weight: 50\n"
      "  timeout: 30\n  required: true\n  rlimits: {nofile: 1024, core: 0, fsize: 1G, nproc: unlimited}\n",
      "t.yaml").profile;
  EXPECT_EQ(p.limits.memory, 512ULL << 20);
  EXPECT_EQ(p.limits.cpu, 0.5);
  EXPECT_EQ(p.limits.pids, 64ULL);
  EXPECT_EQ(p.limits.io_weight, 50u);
  EXPECT_EQ(p.limits.timeout, 30.0);
  EXPECT_EQ(p.limits.required, true);
  EXPECT_EQ(p.limits.rlimits.at("nofile"), 1024ULL);
  EXPECT_EQ(p.limits.rlimits.at("core"), 0ULL);
  EXPECT_EQ(p.limits.rlimits.at("fsize"), 1ULL << 30);
  EXPECT_EQ(p.limits.rlimits.at("nproc"), ~0ULL);
  EXPECT_EQ(error_of("version: 1\nlimits:\n  cpu: lots\n"),
            "t.yaml:3:8: limits.cpu: expected a number from 0.01 to 1024, got 'lots'");
  EXPECT_EQ(error_of("version: 1\nlimits:\n  memory: 0\n"),
            "t.yaml:3:11: limits.memory: expected a size such as 512M or 4G, got '0'");
  EXPECT_EQ(error_of("version: 1\nlimits:\n  rlimits: {stack: 1}\n"),
            "t.yaml:3:13: unknown key 'stack' in limits.rlimits");
}

TEST(ProfileParse, InstanceAndHomeSize) {
  const Profile p = parse_profile_text("version: 1\ninstance: multi\nhome:\n  size: 512M\n", "t.yaml").profile;
  EXPECT_EQ(p.instance, InstanceMode::kMulti);
  EXPECT_EQ(p.home_size, 512ULL << 20);
  EXPECT_EQ(error_of("version: 1\ninstance: many\n"),
            "t.yaml:2:11: instance: 'many' is not one of single, multi");
  EXPECT_EQ(error_of("version: 1\nhome:\n  size: 4 GB\n"),
            "t.yaml:3:9: home.size: expected a size such as 4G, 512M or 100K, got '4 GB'");
  EXPECT_EQ(error_of("version: 1\nhome:\n  size: 0\n"),
            "t.yaml:3:9: home.size: expected a size such as 4G, 512M or 100K, got '0'");
  EXPECT_EQ(parse_size("4G"), 4ULL << 30);
  EXPECT_EQ(parse_size("100k"), 102400ULL);
  EXPECT_EQ(parse_size("12"), 12ULL);
  EXPECT_FALSE(parse_size("G"));
  EXPECT_FALSE(parse_size("1.5G"));
  EXPECT_FALSE(parse_size("99999999999999999999T"));
}

TEST(ProfileParse, WrongTypes) {
  EXPECT_EQ(error_of("version: 1\nfilesystem:\n  rw: {a: 1}\n"),
            "t.yaml:3:7: filesystem.rw: expected a list of paths, got a map");
  EXPECT_EQ(error_of("version: 1\nfilesystem:\n  ro: /etc\n"),
            "t.yaml:3:7: filesystem.ro: expected a list of paths, got '/etc'");
  EXPECT_EQ(error_of("version: 1\nfilesystem:\n  rw: [[/a]]\n"),
            "t.yaml:3:8: filesystem.rw: expected a path, got a list");
  EXPECT_EQ(error_of("version: 1\nsecurity:\n  nested_userns: yes please\n"),
            "t.yaml:3:18: security.nested_userns: expected true or false, got 'yes please'");
  EXPECT_EQ(error_of("version: 1\nsecurity:\n  nested_userns: yes\n"),
            "t.yaml:3:18: security.nested_userns: expected true or false, got 'yes'");
  EXPECT_EQ(error_of("version: 1\nhome: overlay\n"),
            "t.yaml:2:7: home: expected a map, got 'overlay'");
  EXPECT_EQ(error_of("version: 1\nfilesystem: [/a]\n"),
            "t.yaml:2:13: filesystem: expected a map, got a list");
  EXPECT_EQ(error_of("version: 1\ndescription: [a]\n"),
            "t.yaml:2:14: description: expected a string, got a list");
  EXPECT_EQ(error_of("version: 1\nhome:\n  mode: [overlay]\n"),
            "t.yaml:3:9: home.mode: expected one of overlay, ephemeral, tmpfs, bind, ro, got a "
            "list");
  EXPECT_EQ(error_of("version: 1\nsecurity:\n  seccomp:\n"),
            "t.yaml:3:3: security.seccomp: expected one of default, strict, devel, got nothing");
  EXPECT_EQ(error_of("version: 1\nenv:\n  keep: PATH\n"),
            "t.yaml:3:9: env.keep: expected a list of variable names, got 'PATH'");
  EXPECT_EQ(error_of("version: 1\nenv:\n  set: [A=1]\n"),
            "t.yaml:3:8: env.set: expected a map of NAME: value, got a list");
  EXPECT_EQ(error_of("version: 1\nextends: {a: 1}\n"),
            "t.yaml:2:10: extends: expected a profile name or a list of them, got a map");
  EXPECT_EQ(error_of("version: 1\nextends: [[a]]\n"),
            "t.yaml:2:11: extends: expected a profile name or path, got a list");
  EXPECT_EQ(error_of("version: 1\nextends: ['']\n"), "t.yaml:2:11: extends: empty profile name");
  EXPECT_EQ(error_of("version: 1\n? [a, b]\n: 1\n"),
            "t.yaml:2:3: the profile: expected a key name, got a list");
}

TEST(ProfileParse, Command) {
  EXPECT_EQ(error_of("version: 1\ncommand: bash\n"),
            "t.yaml:2:10: command: expected a list of strings, got 'bash'");
  EXPECT_EQ(error_of("version: 1\ncommand:\n"),
            "t.yaml:2:1: command: expected a list of strings, got nothing");
  EXPECT_EQ(error_of("version: 1\ncommand: []\n"),
            "t.yaml:2:10: command: expected a non-empty list of strings, got an empty list");
  EXPECT_EQ(error_of("version: 1\ncommand: [ls, {a: 1}]\n"),
            "t.yaml:2:15: command: expected a string, got a map");
  EXPECT_EQ(error_of("version: 1\ncommand: ['', x]\n"),
            "t.yaml:2:11: command: the program to run is empty");
  EXPECT_EQ(parse("version: 1\ncommand: [printf, '']\n").command,
            (std::vector<std::string>{"printf", ""}));
}

TEST(ProfileParse, BadEnumValues) {
  EXPECT_EQ(error_of("version: 1\nhome:\n  mode: overlays\n"),
            "t.yaml:3:9: home.mode: 'overlays' is not one of overlay, ephemeral, tmpfs, bind, ro");
  EXPECT_EQ(error_of("version: 1\nnetwork:\n  mode: full\n"),
            "t.yaml:3:9: network.mode: 'full' is not one of none, host, filtered");
  EXPECT_EQ(error_of("version: 1\nsecurity:\n  seccomp: off\n"),
            "t.yaml:3:12: security.seccomp: 'off' is not one of default, strict, devel");
}

TEST(ProfileParse, EveryEnumSpelling) {
  for (const auto& [text, mode] :
       std::vector<std::pair<std::string, HomeMode>>{{"overlay", HomeMode::kOverlay},
                                                     {"ephemeral", HomeMode::kEphemeral},
                                                     {"tmpfs", HomeMode::kTmpfs},
                                                     {"bind", HomeMode::kBind},
                                                     {"ro", HomeMode::kRo}}) {
    EXPECT_EQ(parse("version: 1\nhome:\n  mode: " + text + "\n").home_mode, mode);
    EXPECT_EQ(to_string(mode), text);
    EXPECT_EQ(parse_home_mode(text), mode);
  }
  EXPECT_EQ(to_string(NetworkMode::kNone), "none"s);
  EXPECT_EQ(to_string(NetworkMode::kHost), "host"s);
  EXPECT_EQ(parse_network_mode("none"), NetworkMode::kNone);
  EXPECT_EQ(parse_network_mode("host"), NetworkMode::kHost);
  EXPECT_EQ(parse_network_mode("filtered"), NetworkMode::kFiltered);
  EXPECT_EQ(parse_network_mode("open"), std::nullopt);
  EXPECT_EQ(to_string(SeccompPolicy::kDefault), "default"s);
  EXPECT_EQ(to_string(SeccompPolicy::kStrict), "strict"s);
  EXPECT_EQ(to_string(SeccompPolicy::kDevel), "devel"s);
  EXPECT_EQ(parse_seccomp_policy("strict"), SeccompPolicy::kStrict);
  EXPECT_EQ(parse_home_mode("Overlay"), std::nullopt);
  EXPECT_EQ(parse_seccomp_policy(""), std::nullopt);
  EXPECT_EQ(parse("version: 1\nsecurity:\n  nested_userns: false\n").nested_userns, false);
}

TEST(ProfileParse, DuplicateKeys) {
  EXPECT_EQ(error_of("version: 1\nhome:\n  mode: ro\nhome:\n  mode: tmpfs\n"),
            "t.yaml:4:1: duplicate key 'home'");
  EXPECT_EQ(error_of("version: 1\nenv:\n  set: {A: 1, A: 2}\n"),
            "t.yaml:3:15: duplicate key 'A'");
  EXPECT_EQ(error_of("version: 1\nversion: 1\n"), "t.yaml:2:1: duplicate key 'version'");
  EXPECT_EQ(error_of("version: 1\nfilesystem:\n  rw: []\n  ro: []\n  rw: []\n"),
            "t.yaml:5:3: duplicate key 'rw'");
}

TEST(ProfileParse, YamlSyntaxErrors) {
  EXPECT_EQ(error_of("version: 1\nhome:\n  mode: ro\n bad: 2\n"),
            "t.yaml:4:2: end of map not found");
  EXPECT_EQ(error_of("version: 1\nhome: [a\n"), "t.yaml:3:1: end of sequence flow not found");
  EXPECT_EQ(error_of("version: 1\nname: \"abc"), "t.yaml:2:11: illegal EOF in scalar");
  try {
    parse_profile_text("a: b: c\n", "x.yaml");
    FAIL() << "no error";
  } catch (const ProfileError& e) {
    EXPECT_EQ(e.pos().file, "x.yaml");
    EXPECT_EQ(e.pos().line, 1);
    EXPECT_EQ(e.pos().column, 5);
    EXPECT_EQ(e.message(), "illegal map value");
  }
}

TEST(ProfileParse, Version) {
  EXPECT_EQ(error_of("name: x\n"), "t.yaml:1:1: missing 'version: 1'");
  EXPECT_EQ(error_of("# comment\n\nname: x\nhome: {mode: ro}\n"),
            "t.yaml:1:1: missing 'version: 1'");
  EXPECT_EQ(error_of("version: 2\n"),
            "t.yaml:1:10: version: version 2 is not supported (this sandbox reads version 1)");
  EXPECT_EQ(error_of("version: \"1\"\n"),
            "t.yaml:1:10: version: expected the number 1, got the string '1' (write it "
            "without quotes)");
  EXPECT_EQ(error_of("version: 1.0\n"), "t.yaml:1:10: version: expected the number 1, got '1.0'");
  EXPECT_EQ(error_of("version: [1]\n"), "t.yaml:1:10: version: expected the number 1, got a list");
  EXPECT_EQ(error_of("version:\n"), "t.yaml:1:1: version: expected the number 1, got nothing");
  // The version is checked before anything else a newer file might contain.
  EXPECT_EQ(error_of("limits: {}\nversion: 3\n"),
            "t.yaml:2:10: version: version 3 is not supported (this sandbox reads version 1)");
  // ...but after the keys themselves are known to be unique.
  EXPECT_EQ(error_of("version: 1\nversion: 2\n"), "t.yaml:2:1: duplicate key 'version'");
}

TEST(ProfileParse, NotAMap) {
  EXPECT_EQ(error_of(""), "t.yaml:1:1: empty profile; it needs at least 'version: 1'");
  EXPECT_EQ(error_of("# only a comment\n"),
            "t.yaml:1:1: empty profile; it needs at least 'version: 1'");
  EXPECT_EQ(error_of("- a\n- b\n"),
            "t.yaml:1:1: expected a map of profile keys starting with 'version: 1', got a list");
  EXPECT_EQ(error_of("\nhello\n"),
            "t.yaml:2:1: expected a map of profile keys starting with 'version: 1', got 'hello'");
  EXPECT_EQ(error_of("version: 1\n---\nname: x\n"),
            "t.yaml:3:1: a profile is one YAML document; found a second one");
  EXPECT_EQ(error_of("---\nversion: 1\n---\n"), "no error");
}

TEST(ProfileParse, PathForms) {
  const std::vector<std::pair<std::string, std::string>> good{
      {"/", "/"},
      {"//", "/"},
      {"/a//b/", "/a/b"},
      {"/a/./b", "/a/./b"},
      {"/a..b/...", "/a..b/..."},
      {"~", "~"},
      {"~/", "~"},
      {"~//.ssh//", "~/.ssh"},
      {"$HOME", "$HOME"},
      {"$HOME/x/", "$HOME/x"},
      {"$XDG_CONFIG_HOME", "$XDG_CONFIG_HOME"},
      {"$XDG_DATA_HOME/a", "$XDG_DATA_HOME/a"},
      {"$XDG_CACHE_HOME/a", "$XDG_CACHE_HOME/a"},
      {"$XDG_STATE_HOME/a", "$XDG_STATE_HOME/a"},
      {"$XDG_RUNTIME_DIR/bus", "$XDG_RUNTIME_DIR/bus"},
      {"/home/$USER", "/home/$USER"},  // only a leading variable is special
  };
  for (const auto& [text, want] : good) {
    SCOPED_TRACE(text);
    const PathEntry e = parse_path_entry(text, "filesystem.rw", {"f", 1, 2});
    EXPECT_EQ(e.path, want);
    EXPECT_FALSE(e.optional);
    EXPECT_EQ(e.pos.str(), "f:1:2");
    const PathEntry opt = parse_path_entry("?" + text, "filesystem.rw", {"f", 1, 2});
    EXPECT_EQ(opt.path, want);
    EXPECT_TRUE(opt.optional);
  }
}

TEST(ProfileParse, BadPathForms) {
  const std::string forms =
      "a path must be absolute (/...) or start with ~, $HOME, $XDG_CONFIG_HOME, "
      "$XDG_DATA_HOME, $XDG_CACHE_HOME, $XDG_STATE_HOME, $XDG_RUNTIME_DIR or $PWD (alone or "
      "followed by /...)";
  for (const std::string text : {"relative", "./x", "~user/x", "~user", "$FOO/x", "${HOME}/x",
                                 "$HOMEX", "$HOME_x/a", "$XDG_RUNTIME_DIRX", "?\?/x", "\\/x",
                                 ".."}) {
    SCOPED_TRACE(text);
    try {
      parse_path_entry(text, "filesystem.ro", {"--ro", 0, 0});
      ADD_FAILURE() << "accepted";
    } catch (const ProfileError& e) {
      EXPECT_EQ(e.what(), "--ro: filesystem.ro: '" + text + "' is not allowed: " + forms);
    }
  }
  for (const std::string text : {"/a/../b", "~/..", "/a/..", "$HOME/../x", "?/../x"}) {
    SCOPED_TRACE(text);
    try {
      parse_path_entry(text, "filesystem.ro", {"f", 3, 4});
      ADD_FAILURE() << "accepted";
    } catch (const ProfileError& e) {
      EXPECT_EQ(e.what(), "f:3:4: filesystem.ro: '" + text + "': '..' components are not allowed");
    }
  }
  for (const std::string text : {"", "?"}) {
    try {
      parse_path_entry(text, "--rw", {"--rw", 0, 0});
      ADD_FAILURE() << "accepted";
    } catch (const ProfileError& e) {
      EXPECT_EQ(e.what(), "--rw: --rw: empty path; " + forms);
    }
  }
  try {
    parse_path_entry("/a\0b"s, "filesystem.rw", {"f", 1, 1});
    ADD_FAILURE() << "accepted";
  } catch (const ProfileError& e) {
    EXPECT_EQ(e.what(), "f:1:1: filesystem.rw: path contains a NUL character"s);
  }
}

TEST(ProfileParse, PathsInYaml) {
  EXPECT_EQ(error_of("version: 1\nfilesystem:\n  rw: [~/ok, data/x]\n"),
            "t.yaml:3:14: filesystem.rw: 'data/x' is not allowed: a path must be absolute "
            "(/...) or start with ~, $HOME, $XDG_CONFIG_HOME, $XDG_DATA_HOME, $XDG_CACHE_HOME, "
            "$XDG_STATE_HOME, $XDG_RUNTIME_DIR or $PWD (alone or followed by /...)");
  EXPECT_EQ(error_of("version: 1\nfilesystem:\n  hide:\n    - /a/../etc\n"),
            "t.yaml:4:7: filesystem.hide: '/a/../etc': '..' components are not allowed");
  EXPECT_EQ(error_of("version: 1\nfilesystem:\n  tmpfs: [\"/a\\0b\"]\n"),
            "t.yaml:3:11: filesystem.tmpfs: path contains a NUL character");
  EXPECT_EQ(error_of("version: 1\nfilesystem:\n  rw: [null]\n"),
            "t.yaml:3:8: filesystem.rw: expected a path, got 'null'");
  // A bare ~ is YAML's null; as a list item it can only mean the home directory.
  const Profile p =
      parse("version: 1\nfilesystem:\n  ro: [~]\n  hide:\n    - ~\n    - ?~/.x\n    - '?/y'\n");
  ASSERT_EQ(p.ro.size(), 1u);
  EXPECT_EQ(p.ro[0].path, "~");
  EXPECT_EQ(p.ro[0].pos.str(), "t.yaml:3:8");
  ASSERT_EQ(p.hide.size(), 3u);
  EXPECT_EQ(p.hide[0].path, "~");
  EXPECT_EQ(p.hide[1].path, "~/.x");
  EXPECT_TRUE(p.hide[1].optional);
  EXPECT_EQ(p.hide[2].path, "/y");
  EXPECT_TRUE(p.hide[2].optional);
  // As the whole value, `~` is not a list.
  EXPECT_EQ(error_of("version: 1\nfilesystem:\n  hide: ~\n"),
            "t.yaml:3:9: filesystem.hide: expected a list of paths, got '~' (write [~] for the "
            "home directory)");
}

TEST(ProfileParse, EnvKeep) {
  EXPECT_EQ(parse("version: 1\nenv:\n  keep: [PATH, LC_*, '*_PROXY', _X, A1, '*']\n").env_keep,
            (std::vector<std::string>{"PATH", "LC_*", "*_PROXY", "_X", "A1", "*"}));
  const std::string rule =
      " is not a variable name or pattern (letters, digits, '_' and '*', not starting with a "
      "digit)";
  EXPECT_EQ(error_of("version: 1\nenv:\n  keep: [1ABC]\n"), "t.yaml:3:10: env.keep: '1ABC'" + rule);
  EXPECT_EQ(error_of("version: 1\nenv:\n  keep: [A-B]\n"), "t.yaml:3:10: env.keep: 'A-B'" + rule);
  EXPECT_EQ(error_of("version: 1\nenv:\n  keep: ['']\n"), "t.yaml:3:10: env.keep: ''" + rule);
  EXPECT_EQ(error_of("version: 1\nenv:\n  keep: [[A]]\n"),
            "t.yaml:3:10: env.keep: expected a variable name, got a list");
}

TEST(ProfileParse, EnvSet) {
  const Profile p = parse(
      "version: 1\nenv:\n  set:\n    N: 1\n    B: true\n    F: 1.50\n    S: \"x y\"\n"
      "    E: ''\n    _U: '~'\n");
  ASSERT_EQ(p.env_set.size(), 6u);
  const std::vector<std::pair<std::string, std::string>> want{
      {"N", "1"}, {"B", "true"}, {"F", "1.50"}, {"S", "x y"}, {"E", ""}, {"_U", "~"}};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(p.env_set[i].name, want[i].first);
    EXPECT_EQ(p.env_set[i].value, want[i].second);
  }
  EXPECT_EQ(p.env_set[0].pos.str(), "t.yaml:4:5");
  EXPECT_EQ(error_of("version: 1\nenv:\n  set:\n    1X: a\n"),
            "t.yaml:4:5: env.set: '1X' is not a valid variable name (letters, digits and '_', "
            "not starting with a digit)");
  EXPECT_EQ(error_of("version: 1\nenv:\n  set:\n    A*: a\n"),
            "t.yaml:4:5: env.set: 'A*' is not a valid variable name (letters, digits and '_', "
            "not starting with a digit)");
  EXPECT_EQ(error_of("version: 1\nenv:\n  set:\n    X:\n    Y: 1\n"),
            "t.yaml:4:5: env.set.X: expected a string, got nothing (write \"\" for an empty "
            "value)");
  EXPECT_EQ(error_of("version: 1\nenv:\n  set:\n    X: [a]\n"),
            "t.yaml:4:8: env.set.X: expected a string, got a list");
  EXPECT_EQ(error_of("version: 1\nenv:\n  set: {X: \"a\\0\"}\n"),
            "t.yaml:3:12: env.set.X: value contains a NUL character");
}

TEST(ProfileParse, ErrorPositionsAndText) {
  EXPECT_EQ((SourcePos{"f.yaml", 3, 7}).str(), "f.yaml:3:7");
  EXPECT_EQ((SourcePos{"--rw", 0, 0}).str(), "--rw");
  const ProfileError e({"f.yaml", 2, 1}, "boom");
  EXPECT_EQ(std::string(e.what()), "f.yaml:2:1: boom");
  EXPECT_EQ(e.message(), "boom");
  EXPECT_EQ(e.pos().line, 2);
  EXPECT_EQ(std::string(ProfileError({"x", 0, 0}, "m").what()), "x: m");
}

TEST(ProfileParse, ProfileNameRule) {
  EXPECT_TRUE(is_valid_profile_name("firefox"));
  EXPECT_TRUE(is_valid_profile_name("a.b_c-D9"));
  EXPECT_FALSE(is_valid_profile_name(""));
  EXPECT_FALSE(is_valid_profile_name("."));
  EXPECT_FALSE(is_valid_profile_name(".."));
  EXPECT_FALSE(is_valid_profile_name(".x"));
  EXPECT_FALSE(is_valid_profile_name("a/b"));
  EXPECT_FALSE(is_valid_profile_name("a b"));
}

}  // namespace
}  // namespace sandbox::profiles
