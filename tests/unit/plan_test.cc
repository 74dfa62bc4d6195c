#include "launcher/plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "launcher/channel.h"
#include "launcher/error.h"
#include "launcher/explain.h"
#include "tests/unit/fake_host.h"
#include "launcher/namespaces.h"

namespace sandbox::launcher {
namespace {

using profiles::HomeMode;
using profiles::PathEntry;
using profiles::Profile;

Profile base_profile() {
  Profile p;
  p.name = "default";
  p.file = "/share/default.yaml";
  p.extends_files = {p.file};
  p.env_keep = {"PATH", "LANG", "LC_*", "TERM"};
  p.hide = {PathEntry{"~/.ssh", false, {"/share/default.yaml", 9, 5}}};
  return p;
}

PathEntry entry(const std::string& path, int line = 3) {
  return PathEntry{path, false, {"p.yaml", line, 7}};
}

Invocation run_inv(std::vector<std::string> args) {
  Invocation inv;
  inv.command = Command::kRun;
  inv.args = std::move(args);
  return inv;
}

const MountStep* find(const SandboxSpec& s, const std::string& target, MountKind kind) {
  for (const auto& m : s.mounts)
    if (m.target == target && m.kind == kind) return &m;
  return nullptr;
}

size_t index_of(const SandboxSpec& s, const std::string& target, MountKind kind) {
  for (size_t i = 0; i < s.mounts.size(); ++i)
    if (s.mounts[i].target == target && s.mounts[i].kind == kind) return i;
  return SIZE_MAX;
}

TEST(ExpandPath, HomeAndXdgForms) {
  const HostFacts h = fake_host();
  EXPECT_EQ(expand_path(entry("~"), h), "/home/ann");
  EXPECT_EQ(expand_path(entry("~/a//b/./c/"), h), "/home/ann/a/b/c");
  EXPECT_EQ(expand_path(entry("$HOME/x"), h), "/home/ann/x");
  EXPECT_EQ(expand_path(entry("$XDG_CONFIG_HOME/app"), h), "/home/ann/.config/app");
  EXPECT_EQ(expand_path(entry("$XDG_DATA_HOME"), h), "/home/ann/.local/share");
  EXPECT_EQ(expand_path(entry("$XDG_RUNTIME_DIR/bus"), h), "/run/user/1000/bus");
  EXPECT_EQ(expand_path(entry("/srv/data"), h), "/srv/data");
}

TEST(ExpandPath, CommandLinePathsAreRelativeToCwd) {
  PathEntry e{"build/out", false, {"--rw", 0, 0}};
  EXPECT_EQ(expand_path(e, fake_host()), "/home/ann/src/build/out");
}

TEST(ExpandPath, Errors) {
  HostFacts h = fake_host();
  EXPECT_THROW(expand_path(entry("rel/path"), h), PlanError);
  EXPECT_THROW(expand_path(entry("~/a/../b"), h), PlanError);
  h.xdg_runtime_dir = "";
  try {
    expand_path(entry("$XDG_RUNTIME_DIR/x"), h);
    FAIL();
  } catch (const PlanError& e) {
    EXPECT_STREQ(e.what(), "p.yaml:3:7: '$XDG_RUNTIME_DIR/x': XDG_RUNTIME_DIR is not set on this host");
  }
}

TEST(BuildEnv, KeepsOnlyListedVariablesThenFixedThenSet) {
  Profile p = base_profile();
  p.env_set = {{"LANG", "de_DE.UTF-8", {}}, {"EDITOR", "vi", {}}};
  Overrides o;
  o.env = {"SECRET_TOKEN", "FOO=bar", "EDITOR=nano"};
  auto env = build_env(p, o, fake_host(), "/home/ann");
  const std::vector<std::string> expected = {
      "EDITOR=nano", "FOO=bar", "HOME=/home/ann", "LANG=de_DE.UTF-8", "LC_ALL=C", "LOGNAME=ann",
      "PATH=/usr/bin:/bin", "SECRET_TOKEN=x", "TERM=xterm", "USER=ann", "XDG_RUNTIME_DIR=/run/user/1000"};
  EXPECT_EQ(env, expected);
  env = build_env(p, Overrides{}, fake_host(), "/home/ann");
  EXPECT_EQ(std::count_if(env.begin(), env.end(), [](auto& kv) { return kv.rfind("SECRET", 0) == 0; }), 0);
}

TEST(BuildEnv, DefaultPathWhenNotKept) {
  Profile p = base_profile();
  p.env_keep.clear();
  auto env = build_env(p, Overrides{}, fake_host(), "/home/ann");
  EXPECT_NE(std::find(env.begin(), env.end(), "PATH=/usr/local/bin:/usr/bin:/bin"), env.end());
}

TEST(BuildSpec, DefaultOverlayPlan) {
  const SandboxSpec s = build_spec(run_inv({"ls"}), {"default", false}, base_profile(), fake_host());
  EXPECT_EQ(s.app, "default");
  EXPECT_EQ(s.hostname, "default");
  EXPECT_EQ(s.argv, (std::vector<std::string>{"ls"}));
  EXPECT_EQ(s.home_mode, HomeMode::kOverlay);
  EXPECT_EQ(s.layer_dir, "/home/ann/.local/share/sandbox/default");
  EXPECT_EQ(s.network, profiles::NetworkMode::kNone);
  EXPECT_EQ(s.uid, 1000u);
  EXPECT_EQ(s.gid, 1001u);
  // System: binds read-only, merged-/usr links as links.
  const MountStep* usr = find(s, "/usr", MountKind::kBind);
  ASSERT_NE(usr, nullptr);
  EXPECT_TRUE(usr->read_only);
  const MountStep* bin = find(s, "/bin", MountKind::kSymlink);
  ASSERT_NE(bin, nullptr);
  EXPECT_EQ(bin->source, "usr/bin");
  EXPECT_NE(find(s, "/proc", MountKind::kProc), nullptr);
  EXPECT_NE(find(s, "/dev/null", MountKind::kDevNode), nullptr);
  EXPECT_NE(find(s, "/dev/pts", MountKind::kDevpts), nullptr);
  EXPECT_NE(find(s, "/tmp", MountKind::kTmpfs), nullptr);
  EXPECT_NE(find(s, "/var/tmp", MountKind::kTmpfs), nullptr);
  EXPECT_NE(find(s, "/run/user/1000", MountKind::kDir), nullptr);
  const MountStep* home = find(s, "/home/ann", MountKind::kOverlayHome);
  ASSERT_NE(home, nullptr);
  EXPECT_EQ(home->layer_dir, "/home/ann/.local/share/sandbox/default");
  const MountStep* ssh = find(s, "/home/ann/.ssh", MountKind::kHide);
  ASSERT_NE(ssh, nullptr);
  EXPECT_TRUE(ssh->target_in_home);
  // The state tree is hidden, and last of all.
  EXPECT_EQ(s.mounts.back().kind, MountKind::kHide);
  EXPECT_EQ(s.mounts.back().target, "/home/ann/.local/share/sandbox");
  // Order: home before what the profile adds; /tmp before anything under it.
  EXPECT_LT(index_of(s, "/home/ann", MountKind::kOverlayHome), index_of(s, "/home/ann/.ssh", MountKind::kHide));
  EXPECT_LT(index_of(s, "/dev", MountKind::kTmpfs), index_of(s, "/dev/null", MountKind::kDevNode));
}

TEST(BuildSpec, HomeModes) {
  Invocation inv = run_inv({"sh"});
  for (auto [mode, kind, ro] : {std::tuple{HomeMode::kTmpfs, MountKind::kTmpfs, false},
                                std::tuple{HomeMode::kBind, MountKind::kBind, false},
                                std::tuple{HomeMode::kRo, MountKind::kBind, true},
                                std::tuple{HomeMode::kEphemeral, MountKind::kOverlayHome, false}}) {
    inv.overrides.home = mode;
    const SandboxSpec s = build_spec(inv, {"default", false}, base_profile(), fake_host());
    const MountStep* home = find(s, "/home/ann", kind);
    ASSERT_NE(home, nullptr) << profiles::to_string(mode);
    EXPECT_EQ(home->read_only, ro);
    EXPECT_EQ(home->layer_dir, "");
    EXPECT_EQ(s.layer_dir, "");  // only `overlay` has a persistent layer
  }
}

TEST(BuildSpec, PathsFromProfileAndCliInOrderWithScopes) {
  Profile p = base_profile();
  p.rw = {entry("~/Downloads")};
  p.ro = {entry("/srv/data", 4)};
  p.tmpfs = {entry("~/.cache", 5)};
  Invocation inv = run_inv({"sh"});
  inv.overrides.ro.push_back(PathEntry{"~/Downloads/keep", false, {"--ro", 0, 0}});
  inv.overrides.hide.push_back(PathEntry{"~/Downloads/secret", false, {"--hide", 0, 0}});
  const SandboxSpec s = build_spec(inv, {"default", false}, p, fake_host());
  const MountStep* dl = find(s, "/home/ann/Downloads", MountKind::kBind);
  ASSERT_NE(dl, nullptr);
  EXPECT_FALSE(dl->read_only);
  EXPECT_EQ(dl->scope, SourceScope::kHome);
  EXPECT_TRUE(dl->target_in_home);
  EXPECT_EQ(dl->why, "profile rw (p.yaml:3:7)");
  const MountStep* srv = find(s, "/srv/data", MountKind::kBind);
  ASSERT_NE(srv, nullptr);
  EXPECT_TRUE(srv->read_only);
  EXPECT_EQ(srv->scope, SourceScope::kNoSymlinks);
  EXPECT_FALSE(srv->target_in_home);
  const MountStep* keep = find(s, "/home/ann/Downloads/keep", MountKind::kBind);
  ASSERT_NE(keep, nullptr);
  EXPECT_EQ(keep->why, "--ro");
  EXPECT_LT(index_of(s, "/home/ann/.cache", MountKind::kTmpfs), index_of(s, "/home/ann/Downloads", MountKind::kBind));
  EXPECT_LT(index_of(s, "/home/ann/Downloads", MountKind::kBind), index_of(s, "/home/ann/Downloads/keep", MountKind::kBind));
  EXPECT_LT(index_of(s, "/home/ann/Downloads/keep", MountKind::kBind),
            index_of(s, "/home/ann/Downloads/secret", MountKind::kHide));
}

// Hides whose top directory below the home exists nowhere are left out of the plan; anything
// that exists (in the real home, in the layer, or made by an earlier step) keeps its hide.
TEST(BuildSpec, HidesOfWhatExistsNowhereAreSkipped) {
  HostFacts h = fake_host();
  const std::set<std::string> present = {"/home/ann/.ssh", "/home/ann/.local/share/sandbox/default/upper/.aws",
                                         "/home/ann/.config"};
  h.exists = [present](const std::string& p) { return present.count(p) > 0; };
  Profile p = base_profile();
  p.hide = {entry("~/.ssh"), entry("~/.aws"), entry("~/.gnupg"), entry("~/.config/gh"), entry("~/.kube/config"),
            entry("~/.cache/x")};
  Invocation inv = run_inv({"sh"});
  inv.overrides.tmpfs.push_back(PathEntry{"~/.cache", false, {"--tmpfs", 0, 0}});
  const SandboxSpec s = build_spec(inv, {"default", false}, p, h);
  EXPECT_NE(find(s, "/home/ann/.ssh", MountKind::kHide), nullptr);          // in the real home
  EXPECT_NE(find(s, "/home/ann/.aws", MountKind::kHide), nullptr);          // in the layer
  EXPECT_NE(find(s, "/home/ann/.config/gh", MountKind::kHide), nullptr);    // its top dir exists
  EXPECT_NE(find(s, "/home/ann/.cache/x", MountKind::kHide), nullptr);      // made by --tmpfs
  EXPECT_EQ(find(s, "/home/ann/.gnupg", MountKind::kHide), nullptr);        // nowhere
  EXPECT_EQ(find(s, "/home/ann/.kube/config", MountKind::kHide), nullptr);  // nowhere
  EXPECT_NE(find(s, "/home/ann/.local/share/sandbox", MountKind::kHide), nullptr);  // always
}

TEST(BuildSpec, StateTreeCannotBeBound) {
  Invocation inv = run_inv({"sh"});
  inv.overrides.rw.push_back(PathEntry{"~/.local/share/sandbox/firefox", false, {"--rw", 0, 0}});
  EXPECT_THROW(build_spec(inv, {"default", false}, base_profile(), fake_host()), PlanError);
}

TEST(BuildSpec, HostNetworkBindsResolvConfTarget) {
  HostFacts h = fake_host();
  h.resolv_conf_target = "/run/systemd/resolve/stub-resolv.conf";
  Invocation inv = run_inv({"sh"});
  EXPECT_EQ(find(build_spec(inv, {"default", false}, base_profile(), h), h.resolv_conf_target, MountKind::kBind), nullptr);
  inv.overrides.network = profiles::NetworkMode::kHost;
  const SandboxSpec s = build_spec(inv, {"default", false}, base_profile(), h);
  const MountStep* r = find(s, h.resolv_conf_target, MountKind::kBind);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->optional);
  EXPECT_TRUE(r->read_only);
}

TEST(BuildSpec, CommandChoice) {
  Profile shell = base_profile();
  shell.name = "shell";
  shell.command = std::vector<std::string>{"bash"};
  Invocation app;
  app.command = Command::kRunApp;
  app.app = "shell";
  app.args = {"-c", "true"};
  EXPECT_EQ(build_spec(app, {"shell", false}, shell, fake_host()).argv,
            (std::vector<std::string>{"bash", "-c", "true"}));
  // `sandbox foo` under default runs foo; its layer is named foo.
  app.app = "foo";
  SandboxSpec s = build_spec(app, {"default", true}, shell, fake_host());
  EXPECT_EQ(s.argv, (std::vector<std::string>{"foo", "-c", "true"}));
  EXPECT_EQ(s.app, "foo");
  EXPECT_EQ(s.layer_dir, "/home/ann/.local/share/sandbox/foo");
  // run: the given command wins; else the profile's; else an error.
  EXPECT_EQ(build_spec(run_inv({"ls"}), {"shell", false}, shell, fake_host()).argv,
            (std::vector<std::string>{"ls"}));
  EXPECT_EQ(build_spec(run_inv({}), {"shell", false}, shell, fake_host()).argv,
            (std::vector<std::string>{"bash"}));
  EXPECT_THROW(build_spec(run_inv({}), {"default", false}, base_profile(), fake_host()), PlanError);
  Invocation named = run_inv({"ls"});
  named.name = "../evil";
  EXPECT_THROW(build_spec(named, {"default", false}, base_profile(), fake_host()), PlanError);
}

TEST(ChooseProfile, NameFallbackAndPaths) {
  auto exists = [](const std::string& n) { return n == "firefox"; };
  Invocation inv;
  inv.command = Command::kRunApp;
  inv.app = "firefox";
  EXPECT_EQ(choose_profile(inv, exists).profile, "firefox");
  inv.app = "gimp";
  auto c = choose_profile(inv, exists);
  EXPECT_EQ(c.profile, "default");
  EXPECT_TRUE(c.fell_back_to_default);
  inv.profile = "strict";
  EXPECT_EQ(choose_profile(inv, exists).profile, "strict");
  Invocation ex;
  ex.command = Command::kExplain;
  ex.app = "./my.yaml";
  EXPECT_EQ(choose_profile(ex, exists).profile, "./my.yaml");
}

TEST(Explain, SaysWhatIsReachable) {
  Profile p = base_profile();
  p.rw = {entry("~/Downloads")};
  const SandboxSpec s = build_spec(run_inv({"ls"}), {"default", false}, p, fake_host());
  const std::string text = explain_text(s);
  EXPECT_NE(text.find("/home/ann/Downloads (the real one)"), std::string::npos) << text;
  EXPECT_NE(text.find("/home/ann/.ssh (appears empty)"), std::string::npos);
  EXPECT_NE(text.find("Network: none"), std::string::npos);
  EXPECT_NE(text.find("no capabilities"), std::string::npos);
  const std::string json = explain_json(s);
  EXPECT_NE(json.find("\"network\": \"none\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"namespaces\": [\"user\", \"mount\", \"pid\", \"ipc\", \"uts\", \"cgroup\", \"net\"]"), std::string::npos);
  EXPECT_NE(json.find("\"layer\": \"/home/ann/.local/share/sandbox/default\""), std::string::npos);
  EXPECT_EQ(json_quote("a\"b\\\n\x01"), "\"a\\\"b\\\\\\n\\u0001\"");
}

TEST(Channel, ErrorsAndLogsRoundTrip) {
  Message m;
  m.type = Message::Type::kError;
  m.error = SetupError{"mounts", "bind", "/home/a b", 2, "create it", 125};
  auto back = decode(encode(m));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->type, Message::Type::kError);
  EXPECT_EQ(back->error.stage, "mounts");
  EXPECT_EQ(back->error.op, "bind");
  EXPECT_EQ(back->error.path, "/home/a b");
  EXPECT_EQ(back->error.err, 2);
  EXPECT_EQ(back->error.hint, "create it");
  EXPECT_EQ(back->error.exit_code, 125);
  Message log{Message::Type::kLog, {}, "stage userns: 0.1 ms"};
  back = decode(encode(log));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->text, "stage userns: 0.1 ms");
  EXPECT_FALSE(decode(std::string("X\0y", 3)));
}

TEST(Errors, OneLineWithStageOpPathErrnoAndHint) {
  SetupError e{"mounts", "bind", "/x", ENOENT, "create it", 125};
  EXPECT_EQ(e.format(), "sandbox: mounts: bind /x: No such file or directory (ENOENT); hint: create it");
  EXPECT_NE(hint_for("clone", EPERM).find("kernel.unprivileged_userns_clone"), std::string::npos);
  EXPECT_NE(hint_for("clone", EPERM).find("apparmor_restrict_unprivileged_userns"), std::string::npos);
  EXPECT_NE(hint_for("clone", ENOSPC).find("user.max_user_namespaces"), std::string::npos);
  EXPECT_NE(hint_for("write uid_map", EPERM).find("AppArmor"), std::string::npos);
  EXPECT_NE(hint_for("mount overlay", EINVAL).find("overlayfs"), std::string::npos);
  EXPECT_EQ(hint_for("chmod", EPERM), "");
}

TEST(IdMap, MapsTheCallersIdToItself) {
  EXPECT_EQ(id_map_line(1000), "1000 1000 1\n");
  EXPECT_EQ(id_map_line(0), "0 0 1\n");
}

}  // namespace
}  // namespace sandbox::launcher

#include "launcher/seccomp.h"

namespace sandbox::launcher {
namespace {

// The table compiled at build time is what compile() gives for every policy.
TEST(SeccompPrecompiled, MatchesRunTimeCompilation) {
  for (auto policy : {profiles::SeccompPolicy::kDefault, profiles::SeccompPolicy::kStrict,
                      profiles::SeccompPolicy::kDevel}) {
    for (bool nested : {false, true}) {
      const auto built = seccomp::program_for(policy, nested);
      const auto now = seccomp::compile(seccomp::rules_for(policy, nested));
      ASSERT_EQ(built.size(), now.size()) << profiles::to_string(policy) << nested;
      for (size_t i = 0; i < now.size(); ++i) {
        EXPECT_EQ(built[i].code, now[i].code);
        EXPECT_EQ(built[i].jt, now[i].jt);
        EXPECT_EQ(built[i].jf, now[i].jf);
        EXPECT_EQ(built[i].k, now[i].k);
      }
    }
  }
  unsigned count = 0;
  ASSERT_NE(sandbox_precompiled_seccomp, nullptr);
  sandbox_precompiled_seccomp(&count);
  EXPECT_EQ(count, 6u);
}

}  // namespace
}  // namespace sandbox::launcher
