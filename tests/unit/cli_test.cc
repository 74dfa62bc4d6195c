#include "launcher/cli.h"

#include <gtest/gtest.h>

namespace sandbox::launcher {
namespace {

Invocation parse(std::vector<std::string> words) {
  words.insert(words.begin(), "sandbox");
  return parse_cli(words);
}

TEST(Cli, NetworkOptions) {
  const Invocation inv = parse_cli({"sandbox", "run", "--net", "filtered", "--allow", "example.com:443/tcp",
                                    "--allow=lan", "--publish", "8080", "--net-log", "n.log",
                                    "--json-status", "s.json", "--json-status-fd", "7", "--", "x"});
  EXPECT_EQ(inv.overrides.network, profiles::NetworkMode::kFiltered);
  ASSERT_EQ(inv.overrides.allow.size(), 2u);
  EXPECT_EQ(inv.overrides.allow[0].text, "example.com:443/tcp");
  EXPECT_EQ(inv.overrides.allow[0].pos.str(), "--allow");
  EXPECT_EQ(inv.overrides.allow[1].text, "lan");
  EXPECT_EQ(inv.overrides.publish, std::vector<unsigned>{8080});
  EXPECT_EQ(inv.net_log, "n.log");
  EXPECT_EQ(inv.json_status, "s.json");
  EXPECT_EQ(inv.json_status_fd, 7);
}

TEST(Cli, AppWithArgsPassesEverythingAfterApp) {
  Invocation inv = parse({"-v", "firefox", "--new-window", "-p", "x"});
  EXPECT_EQ(inv.command, Command::kRunApp);
  EXPECT_EQ(inv.app, "firefox");
  EXPECT_TRUE(inv.verbose);
  EXPECT_EQ(inv.args, (std::vector<std::string>{"--new-window", "-p", "x"}));
  EXPECT_EQ(inv.profile, "");
}

TEST(Cli, RunWithOverridesAndDashDash) {
  Invocation inv = parse({"run", "-p", "strict", "--home=tmpfs", "--rw", "/srv/w", "--ro", "~/docs",
                          "--hide", "~/.x", "--tmpfs", "/cache", "--net", "host", "--env", "A=1",
                          "--env", "B", "--seccomp", "devel", "--name", "job", "--", "make", "-j2"});
  EXPECT_EQ(inv.command, Command::kRun);
  EXPECT_EQ(inv.profile, "strict");
  EXPECT_EQ(inv.name, "job");
  EXPECT_EQ(inv.overrides.home, profiles::HomeMode::kTmpfs);
  ASSERT_EQ(inv.overrides.rw.size(), 1u);
  EXPECT_EQ(inv.overrides.rw[0].path, "/srv/w");
  EXPECT_EQ(inv.overrides.rw[0].pos.file, "--rw");
  EXPECT_EQ(inv.overrides.rw[0].pos.line, 0);
  EXPECT_EQ(inv.overrides.ro[0].path, "~/docs");
  EXPECT_EQ(inv.overrides.hide[0].path, "~/.x");
  EXPECT_EQ(inv.overrides.tmpfs[0].path, "/cache");
  EXPECT_EQ(inv.overrides.network, profiles::NetworkMode::kHost);
  EXPECT_EQ(inv.overrides.env, (std::vector<std::string>{"A=1", "B"}));
  EXPECT_EQ(inv.overrides.seccomp, profiles::SeccompPolicy::kDevel);
  EXPECT_EQ(inv.args, (std::vector<std::string>{"make", "-j2"}));
}

TEST(Cli, RunStopsOptionsAtTheCommand) {
  Invocation inv = parse({"run", "ls", "-la", "--rw", "x"});
  EXPECT_EQ(inv.args, (std::vector<std::string>{"ls", "-la", "--rw", "x"}));
  EXPECT_TRUE(inv.overrides.rw.empty());
}

TEST(Cli, DashDashReachesAnAppNamedLikeASubcommand) {
  Invocation inv = parse({"--", "run", "x"});
  EXPECT_EQ(inv.command, Command::kRunApp);
  EXPECT_EQ(inv.app, "run");
  EXPECT_EQ(inv.args, (std::vector<std::string>{"x"}));
}

TEST(Cli, ExplainTakesOptionsOnEitherSide) {
  Invocation inv = parse({"explain", "firefox", "--json"});
  EXPECT_EQ(inv.command, Command::kExplain);
  EXPECT_EQ(inv.app, "firefox");
  EXPECT_TRUE(inv.json);
  inv = parse({"explain", "-p", "strict"});
  EXPECT_EQ(inv.profile, "strict");
  EXPECT_THROW(parse({"explain"}), UsageError);
  EXPECT_THROW(parse({"explain", "a", "b"}), UsageError);
}

TEST(Cli, CheckAndProfiles) {
  Invocation inv = parse({"check", "a.yaml", "b"});
  EXPECT_EQ(inv.command, Command::kCheck);
  EXPECT_EQ(inv.args, (std::vector<std::string>{"a.yaml", "b"}));
  EXPECT_THROW(parse({"check"}), UsageError);
  EXPECT_EQ(parse({"profiles"}).command, Command::kProfiles);
  EXPECT_THROW(parse({"profiles", "x"}), UsageError);
}

TEST(Cli, HelpAndVersion) {
  EXPECT_EQ(parse({"--help"}).command, Command::kHelp);
  EXPECT_EQ(parse({"-h"}).command, Command::kHelp);
  EXPECT_EQ(parse({"help"}).command, Command::kHelp);
  EXPECT_EQ(parse({}).command, Command::kHelp);
  EXPECT_EQ(parse({"--version"}).command, Command::kVersion);
  EXPECT_EQ(parse({"run", "--help"}).command, Command::kHelp);
}

TEST(Cli, ErrorsSayWhatIsWrong) {
  auto message = [](std::vector<std::string> words) {
    try {
      parse(std::move(words));
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message({"--bogus", "x"}), "unknown option '--bogus'");
  EXPECT_EQ(message({"run", "--home", "nfs", "x"}),
            "--home: 'nfs' is not one of overlay, ephemeral, tmpfs, bind, ro");
  EXPECT_EQ(message({"run", "--net", "wifi", "x"}), "--net: 'wifi' is not one of none, host, filtered");
  EXPECT_EQ(message({"run", "--allow", "", "x"}), "--allow needs a rule, such as example.com:443");
  EXPECT_EQ(message({"run", "--publish", "0", "x"}), "--publish: '0' is not a port number 1-65535");
  EXPECT_EQ(message({"run", "--publish", "80x", "x"}), "--publish: '80x' is not a port number 1-65535");
  EXPECT_EQ(message({"run", "--json-status-fd", "-1", "x"}),
            "--json-status-fd: '-1' is not a file descriptor number");
  EXPECT_EQ(message({"run", "--rw"}), "--rw needs a value");
  EXPECT_EQ(message({"run", "--env", "=x", "y"}), "--env needs NAME or NAME=VALUE");
  EXPECT_EQ(message({"run", "--dry-run=1", "y"}), "--dry-run takes no value");
}

TEST(Cli, ReservedWords) {
  for (const char* w : {"run", "explain", "check", "profiles", "diff", "commit", "reset", "ps",
                        "enter", "stop", "desktop"})
    EXPECT_TRUE(is_reserved_word(w)) << w;
  EXPECT_FALSE(is_reserved_word("firefox"));
}

// man/ is the contract: every option in --help must be documented in sandbox(1).
TEST(Cli, EveryHelpOptionIsInTheManPage) {
  FILE* f = std::fopen(SANDBOX_SOURCE_DIR "/man/sandbox.1", "r");
  ASSERT_NE(f, nullptr);
  std::string man;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) man.append(buf, n);
  std::fclose(f);
  // groff escapes '-' as "\-".
  std::string plain;
  for (size_t i = 0; i < man.size(); ++i) {
    if (man[i] == '\\' && i + 1 < man.size() && man[i + 1] == '-') continue;
    plain += man[i];
  }
  const std::string& help = help_text();
  size_t pos = 0;
  int checked = 0;
  while ((pos = help.find("--", pos)) != std::string::npos) {
    size_t end = pos + 2;
    while (end < help.size() && (std::isalnum(static_cast<unsigned char>(help[end])) || help[end] == '-')) ++end;
    const std::string opt = help.substr(pos, end - pos);
    pos = end;
    if (opt == "--") continue;
    EXPECT_NE(plain.find(opt), std::string::npos) << opt << " is not in man/sandbox.1";
    ++checked;
  }
  EXPECT_GT(checked, 10);
}

}  // namespace
}  // namespace sandbox::launcher

namespace sandbox::launcher {
namespace {
TEST(Cli, OptionalPathsOnTheCommandLine) {
  Invocation inv = parse_cli({"sandbox", "run", "--ro", "?~/maybe", "--", "ls"});
  ASSERT_EQ(inv.overrides.ro.size(), 1u);
  EXPECT_TRUE(inv.overrides.ro[0].optional);
  EXPECT_EQ(inv.overrides.ro[0].path, "~/maybe");
  EXPECT_THROW(parse_cli({"sandbox", "run", "--ro", "?", "--", "ls"}), UsageError);
}
}  // namespace
}  // namespace sandbox::launcher
