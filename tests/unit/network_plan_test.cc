// The filtered network as the planner and the launcher see it: which mode rules turn on,
// rule errors at their file:line:col, the resolv.conf step, pasta's command line, and the
// channel messages that start it.
#include <gtest/gtest.h>

#include "launcher/channel.h"
#include "launcher/network.h"
#include "launcher/plan.h"
#include "tests/unit/fake_host.h"

namespace sandbox::launcher {
namespace {

using profiles::NetworkMode;
using profiles::NetRule;
using profiles::Profile;

// The planner tests' host, with pasta and the sandbox-net helper installed.
HostFacts host() {
  HostFacts h = fake_host();
  h.pasta = "/usr/bin/pasta";
  h.net_helper = "/usr/libexec/sandbox/sandbox-net";
  return h;
}

Profile profile() {
  Profile p;
  p.name = "default";
  p.file = "/share/default.yaml";
  return p;
}

Invocation run_inv() {
  Invocation inv;
  inv.command = Command::kRun;
  inv.args = {"sh"};
  return inv;
}

std::string plan_error(const Invocation& inv, const Profile& p, const HostFacts& h = host()) {
  try {
    build_spec(inv, {"default", false}, p, h);
  } catch (const PlanError& e) {
    return e.what();
  }
  return "no error";
}

TEST(NetworkPlan, AllowTurnsNoNetworkIntoFiltered) {
  Invocation inv = run_inv();
  inv.overrides.allow = {NetRule{"example.com:443/tcp", {"--allow", 0, 0}}};
  inv.net_log = "denied.log";
  const SandboxSpec s = build_spec(inv, {"default", false}, profile(), host());
  EXPECT_EQ(s.network, NetworkMode::kFiltered);
  EXPECT_EQ(s.net_allow, std::vector<std::string>{"example.com:443/tcp"});
  EXPECT_EQ(s.pasta, "/usr/bin/pasta");
  EXPECT_EQ(s.net_helper, "/usr/libexec/sandbox/sandbox-net");
  EXPECT_EQ(s.net_log, "denied.log");
  // Names are resolved by the filter on the sandbox's own loopback.
  bool resolv = false;
  for (const auto& m : s.mounts)
    if (m.kind == MountKind::kFile && m.target == "/etc/resolv.conf") {
      resolv = true;
      EXPECT_NE(m.data.find("nameserver 127.0.0.1\n"), std::string::npos);
    }
  EXPECT_TRUE(resolv);
}

TEST(NetworkPlan, ProfileRulesAppendCommandLineRules) {
  Profile p = profile();
  p.network_mode = NetworkMode::kFiltered;
  p.net_allow = {NetRule{"lan", {"p.yaml", 4, 11}}};
  p.publish = {8080};
  Invocation inv = run_inv();
  inv.overrides.allow = {NetRule{"*.example.org", {"--allow", 0, 0}}};
  inv.overrides.publish = {8080, 9000};
  const SandboxSpec s = build_spec(inv, {"default", false}, p, host());
  EXPECT_EQ(s.net_allow, (std::vector<std::string>{"lan", "*.example.org"}));
  EXPECT_EQ(s.publish, (std::vector<unsigned>{8080, 9000}));
}

TEST(NetworkPlan, FilteredWithoutRulesRefusesEverything) {
  Invocation inv = run_inv();
  inv.overrides.network = NetworkMode::kFiltered;
  const SandboxSpec s = build_spec(inv, {"default", false}, profile(), host());
  EXPECT_EQ(s.network, NetworkMode::kFiltered);
  EXPECT_TRUE(s.net_allow.empty());
}

TEST(NetworkPlan, Errors) {
  Invocation inv = run_inv();
  inv.overrides.allow = {NetRule{"exa mple.com", {"--allow", 0, 0}}};
  EXPECT_EQ(plan_error(inv, profile()).rfind("--allow: network.allow: 'exa mple.com': ", 0), 0u)
      << plan_error(inv, profile());
  Profile p = profile();
  p.net_allow = {NetRule{"10.0.0.0/33", {"p.yaml", 5, 7}}};
  EXPECT_EQ(plan_error(run_inv(), p).rfind("p.yaml:5:7: network.allow: '10.0.0.0/33': ", 0), 0u)
      << plan_error(run_inv(), p);
  // Rules with the host network would be enforced by nothing.
  inv = run_inv();
  inv.overrides.allow = {NetRule{"example.com", {"--allow", 0, 0}}};
  inv.overrides.network = NetworkMode::kHost;
  EXPECT_EQ(plan_error(inv, profile()),
            "--allow: network.allow needs network.mode filtered, but the network is host (drop --net "
            "host, or the rules)");
  inv.overrides.network = NetworkMode::kNone;
  EXPECT_EQ(plan_error(inv, profile()),
            "--allow: network.allow needs network.mode filtered, but the network is none (drop --net "
            "none, or the rules)");
  inv = run_inv();
  inv.net_log = "x.log";
  EXPECT_EQ(plan_error(inv, profile()),
            "--net-log needs network.mode filtered (--net filtered or --allow RULE)");
  // Missing pasta: the run refuses, explain says so.
  HostFacts h = host();
  h.pasta.clear();
  inv = run_inv();
  inv.overrides.network = NetworkMode::kFiltered;
  EXPECT_EQ(plan_error(inv, profile(), h), "network.mode filtered needs pasta (apt-get install passt)");
  inv.command = Command::kExplain;
  const SandboxSpec s = build_spec(inv, {"default", false}, profile(), h);
  ASSERT_FALSE(s.notes.empty());
  EXPECT_EQ(s.notes.back(), "network filtered: needs pasta (apt-get install passt)");
}

TEST(NetworkPlan, ResolvConfSymlinkTargetIsReplaced) {
  HostFacts h = host();
  h.resolv_conf_target = "/run/systemd/resolve/stub-resolv.conf";
  Invocation inv = run_inv();
  inv.overrides.network = NetworkMode::kFiltered;
  const SandboxSpec s = build_spec(inv, {"default", false}, profile(), h);
  bool found = false;
  for (const auto& m : s.mounts) found |= m.kind == MountKind::kFile && m.target == h.resolv_conf_target;
  EXPECT_TRUE(found);
}

TEST(PastaArgv, NoForwardingButPublishAndLocalhostRules) {
  SandboxSpec s;
  s.pasta = "/usr/bin/pasta";
  s.net_allow = {"example.com", "localhost:5432/tcp", "localhost:53", "localhost:7000-7010/udp"};
  s.publish = {8080, 9090};
  EXPECT_EQ(pasta_argv(s, 4242, "/run/x/pasta.pid"),
            (std::vector<std::string>{"/usr/bin/pasta", "--config-net", "--foreground", "--quiet", "--pid", "/run/x/pasta.pid",
                                      "--no-map-gw", "--tcp-ports", "127.0.0.1/8080,9090", "--udp-ports", "none",
                                      "--tcp-ns", "5432,53", "--udp-ns", "53,7000-7010", "4242"}));
  s.net_allow.clear();
  s.publish.clear();
  EXPECT_EQ(pasta_argv(s, 7, "p"),
            (std::vector<std::string>{"/usr/bin/pasta", "--config-net", "--foreground", "--quiet", "--pid", "p", "--no-map-gw",
                                      "--tcp-ports", "none", "--udp-ports", "none", "--tcp-ns", "none",
                                      "--udp-ns", "none", "7"}));
}

TEST(NetworkChannel, StartRequestAndExitWithSignalRoundTrip) {
  Message ask;
  ask.type = Message::Type::kNet;
  ask.text = "start";
  auto back = decode(encode(ask));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->type, Message::Type::kNet);
  EXPECT_EQ(back->text, "start");
  Message exit;
  exit.type = Message::Type::kExit;
  exit.exit_code = 137;
  exit.signal = 9;
  back = decode(encode(exit));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->exit_code, 137);
  EXPECT_EQ(back->signal, 9);
}

}  // namespace
}  // namespace sandbox::launcher
