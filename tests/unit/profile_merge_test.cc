// merge(), env_pattern_matches() and default_search_dirs(): the pure rules around profiles.
#include <gtest/gtest.h>

#include <string>

#include "profiles/profile.h"

namespace sandbox::profiles {
namespace {

PathEntry path(const std::string& p) { return PathEntry{p, false, {"f", 1, 1}}; }

std::vector<std::string> paths(const std::vector<PathEntry>& entries) {
  std::vector<std::string> out;
  for (const PathEntry& e : entries) out.push_back(e.path);
  return out;
}

Profile base_profile() {
  Profile p;
  p.name = "base";
  p.description = "the base";
  p.file = "/d/base.yaml";
  p.extends_files = {"/d/base.yaml"};
  p.command = std::vector<std::string>{"base-cmd"};
  p.home_mode = HomeMode::kOverlay;
  p.rw = {path("/b/rw")};
  p.ro = {path("/b/ro")};
  p.hide = {path("~/.ssh")};
  p.tmpfs = {path("/b/tmp")};
  p.network_mode = NetworkMode::kNone;
  p.env_keep = {"PATH"};
  p.env_set = {{"A", "base", {}}};
  p.seccomp = SeccompPolicy::kStrict;
  p.nested_userns = true;
  return p;
}

TEST(ProfileMerge, ListsAppendBaseThenOverlay) {
  Profile overlay;
  overlay.name = "top";
  overlay.file = "/d/top.yaml";
  overlay.extends_files = {"/d/top.yaml"};
  overlay.rw = {path("/t/rw1"), path("/t/rw2")};
  overlay.ro = {path("/t/ro")};
  overlay.hide = {path("~/.gnupg")};
  overlay.tmpfs = {path("/t/tmp")};
  overlay.env_keep = {"LC_*"};
  overlay.env_set = {{"A", "top", {}}, {"B", "b", {}}};

  const Profile m = merge(base_profile(), overlay);
  EXPECT_EQ(paths(m.rw), (std::vector<std::string>{"/b/rw", "/t/rw1", "/t/rw2"}));
  EXPECT_EQ(paths(m.ro), (std::vector<std::string>{"/b/ro", "/t/ro"}));
  EXPECT_EQ(paths(m.hide), (std::vector<std::string>{"~/.ssh", "~/.gnupg"}));
  EXPECT_EQ(paths(m.tmpfs), (std::vector<std::string>{"/b/tmp", "/t/tmp"}));
  EXPECT_EQ(m.env_keep, (std::vector<std::string>{"PATH", "LC_*"}));
  ASSERT_EQ(m.env_set.size(), 3u);
  EXPECT_EQ(m.env_set[0].value, "base");
  EXPECT_EQ(m.env_set[1].value, "top");  // later entry for A: wins when applied in order
  EXPECT_EQ(m.env_set[2].name, "B");
  EXPECT_EQ(m.extends_files, (std::vector<std::string>{"/d/base.yaml", "/d/top.yaml"}));
}

TEST(ProfileMerge, UnsetScalarsKeepTheBase) {
  Profile overlay;
  overlay.name = "top";
  overlay.file = "/d/top.yaml";
  const Profile m = merge(base_profile(), overlay);
  EXPECT_EQ(m.name, "top");
  EXPECT_EQ(m.file, "/d/top.yaml");
  EXPECT_EQ(m.description, "the base");  // overlay's is empty
  EXPECT_EQ(m.command, std::vector<std::string>{"base-cmd"});
  EXPECT_EQ(m.home_mode, HomeMode::kOverlay);
  EXPECT_EQ(m.network_mode, NetworkMode::kNone);
  EXPECT_EQ(m.seccomp, SeccompPolicy::kStrict);
  EXPECT_EQ(m.nested_userns, true);
}

TEST(ProfileMerge, SetScalarsOverride) {
  Profile overlay;
  overlay.name = "top";
  overlay.description = "the top";
  overlay.command = std::vector<std::string>{"top-cmd", "arg"};
  overlay.home_mode = HomeMode::kTmpfs;
  overlay.network_mode = NetworkMode::kHost;
  overlay.seccomp = SeccompPolicy::kDefault;
  overlay.nested_userns = false;  // set to false is not "unset"
  const Profile m = merge(base_profile(), overlay);
  EXPECT_EQ(m.description, "the top");
  EXPECT_EQ(m.command, (std::vector<std::string>{"top-cmd", "arg"}));  // replaced, not appended
  EXPECT_EQ(m.home_mode, HomeMode::kTmpfs);
  EXPECT_EQ(m.network_mode, NetworkMode::kHost);
  EXPECT_EQ(m.seccomp, SeccompPolicy::kDefault);
  EXPECT_EQ(m.nested_userns, false);
}

TEST(ProfileMerge, OntoAnEmptyBaseIsTheOverlay) {
  const Profile b = base_profile();
  const Profile m = merge(Profile{}, b);
  EXPECT_EQ(m.name, b.name);
  EXPECT_EQ(m.description, b.description);
  EXPECT_EQ(m.extends_files, b.extends_files);
  EXPECT_EQ(m.command, b.command);
  EXPECT_EQ(paths(m.hide), paths(b.hide));
  EXPECT_EQ(m.nested_userns, true);
  EXPECT_EQ(m.env_set.size(), 1u);
}

TEST(ProfileMerge, EnvPatternMatches) {
  struct Case {
    const char* pattern;
    const char* name;
    bool match;
  };
  const Case cases[] = {
      {"PATH", "PATH", true},        {"PATH", "PATHX", false},    {"PATH", "XPATH", false},
      {"PATH", "path", false},       {"LC_*", "LC_ALL", true},    {"LC_*", "LC_", true},
      {"LC_*", "LC", false},         {"LC_*", "XLC_ALL", false},  {"*_PROXY", "HTTP_PROXY", true},
      {"*_PROXY", "HTTP_PROXYX", false}, {"*", "", true},         {"*", "ANY", true},
      {"A*B*C", "AxxBxxC", true},    {"A*B*C", "ABC", true},      {"A*B*C", "AxxBxx", false},
      {"A*A", "A", false},           {"A*A", "AA", true},         {"A*A", "ABABA", true},
      {"**", "X", true},             {"", "", true},              {"", "X", false},
      {"X", "", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(env_pattern_matches(c.pattern, c.name), c.match)
        << "pattern " << c.pattern << " name " << c.name;
  }
}

TEST(ProfileMerge, DefaultSearchDirs) {
  EXPECT_EQ(default_search_dirs("/x/config", "/home/u", "/usr/share/sandbox"),
            (std::vector<std::string>{"/x/config/sandbox/profiles", "/etc/sandbox/profiles",
                                      "/usr/share/sandbox/profiles"}));
  EXPECT_EQ(default_search_dirs("", "/home/u", "/opt/s"),
            (std::vector<std::string>{"/home/u/.config/sandbox/profiles",
                                      "/etc/sandbox/profiles", "/opt/s/profiles"}));
  // The XDG spec: a relative $XDG_CONFIG_HOME is invalid and ignored.
  EXPECT_EQ(default_search_dirs("rel/config", "/home/u", "/opt/s")[0],
            "/home/u/.config/sandbox/profiles");
}

}  // namespace
}  // namespace sandbox::profiles

namespace sandbox::profiles {
namespace {
TEST(ProfileMerge, ShowLiftsInheritedHides) {
  Profile base;
  base.hide = {PathEntry{"~/.mozilla", false, {}}, PathEntry{"~/.ssh", false, {}}};
  Profile child;
  child.show = {PathEntry{"~/.mozilla", false, {}}};
  child.hide = {PathEntry{"~/.config/x", false, {}}};
  const Profile m = merge(base, child);
  std::vector<std::string> hidden;
  for (const auto& h : m.hide) hidden.push_back(h.path);
  EXPECT_EQ(hidden, (std::vector<std::string>{"~/.ssh", "~/.config/x"}));
  // A grandchild inherits the lifted hide as lifted.
  const Profile g = merge(m, Profile{});
  EXPECT_EQ(g.hide.size(), 2u);
}
}  // namespace
}  // namespace sandbox::profiles
