// Exec lines of desktop entries (desktop/exec.h): splitting, the spec's quoting, and the
// command a wrapper runs instead.
#include <glib.h>
#include <gtest/gtest.h>

#include "desktop/exec.h"

namespace sandbox::desktop {
namespace {

using Words = std::vector<std::string>;

SandboxLaunch launch(const std::string& app = "firefox-esr",
                     const std::string& program = "firefox-esr") {
  SandboxLaunch l;
  l.sandbox = "/opt/sandbox/bin/sandbox";
  l.app = app;
  l.app_program = program;
  return l;
}

// What a launcher does with an Exec value (GLib: expand field codes, then g_shell_parse_argv);
// with no field codes, just the split.
Words glib_split(const std::string& exec) {
  gint argc = 0;
  gchar** argv = nullptr;
  EXPECT_TRUE(g_shell_parse_argv(exec.c_str(), &argc, &argv, nullptr)) << exec;
  Words out(argv, argv + argc);
  g_strfreev(argv);
  return out;
}

TEST(DesktopExec, SplitsLikeGlib) {
  EXPECT_EQ(split_exec("firefox-esr %u", "x"), (Words{"firefox-esr", "%u"}));
  EXPECT_EQ(split_exec(R"(prog "a b" 'c d' e\ f)", "x"), (Words{"prog", "a b", "c d", "e f"}));
  // Inside double quotes the spec escapes " ` $ \ with a backslash.
  EXPECT_EQ(split_exec(R"(sh -c "echo \"\$HOME\" \`x\` \\")", "x"),
            (Words{"sh", "-c", R"(echo "$HOME" `x` \)"}));
  EXPECT_EQ(split_exec("prog 100%% %F", "x"), (Words{"prog", "100%%", "%F"}));
}

TEST(DesktopExec, SplitErrorsNameWhere) {
  try {
    split_exec("prog \"unterminated", "/usr/share/applications/x.desktop: [Desktop Entry] Exec");
    FAIL() << "no error";
  } catch (const DesktopError& e) {
    EXPECT_NE(std::string(e.what()).find("/usr/share/applications/x.desktop: [Desktop Entry] Exec: "
                                         "'prog \"unterminated': "),
              std::string::npos)
        << e.what();
  }
}

TEST(DesktopExec, QuotesOnlyWhatTheSpecReserves) {
  EXPECT_EQ(quote_exec_word("firefox"), "firefox");
  EXPECT_EQ(quote_exec_word("--class=Foo,bar:1.5+x@y"), "--class=Foo,bar:1.5+x@y");
  EXPECT_EQ(quote_exec_word(""), "\"\"");
  EXPECT_EQ(quote_exec_word("a b"), "\"a b\"");
  EXPECT_EQ(quote_exec_word("it's"), "\"it's\"");
  EXPECT_EQ(quote_exec_word(R"(say "hi")"), R"("say \"hi\"")");
  EXPECT_EQ(quote_exec_word(R"(C:\dir)"), R"("C:\\dir")");
  EXPECT_EQ(quote_exec_word("$HOME"), R"("\$HOME")");
  EXPECT_EQ(quote_exec_word("`id`"), R"("\`id\`")");
  for (const char* reserved : {"\t", "\n", ">", "<", "~", "|", "&", ";", "*", "?", "#", "(", ")"}) {
    const std::string w = std::string("a") + reserved + "b";
    EXPECT_EQ(quote_exec_word(w), "\"" + w + "\"") << reserved;
  }
  // Field codes stay bare: a launcher does not expand them inside quotes.
  EXPECT_EQ(quote_exec_word("%U"), "%U");
  // %% is a literal percent, and stays %% for the launcher to turn into %.
  EXPECT_EQ(quote_exec_word("100%%"), "100%%");
  EXPECT_EQ(quote_exec_word("100%% done"), "\"100%% done\"");
}

TEST(DesktopExec, QuotingRoundTripsThroughGlib) {
  const Words tricky = {
      "/opt/my apps/prog", "",    " ",       "a\"b", "a'b", "a\\b", "\\\\",  "$x",    "`x`", "a\nb",
      "tab\there",         "~/x", "a;b|c&d", "*?#",  "(x)", "<>",   "plain", "é ü 字"};
  EXPECT_EQ(glib_split(join_exec(tricky)), tricky);
}

TEST(DesktopExec, FieldCodes) {
  for (const char* c : {"%f", "%F", "%u", "%U", "%i", "%c", "%k"})
    EXPECT_TRUE(is_field_code(c)) << c;
  for (const char* c : {"%d", "%D", "%n", "%N", "%v", "%m"}) {
    EXPECT_FALSE(is_field_code(c)) << c;
    EXPECT_TRUE(is_deprecated_field_code(c)) << c;
  }
  for (const char* c : {"%%", "%", "%x", "u", "%uu"}) EXPECT_FALSE(is_field_code(c)) << c;
}

TEST(DesktopExec, TheAppsProgramRunsAsSandboxApp) {
  EXPECT_EQ(join_exec(sandboxed_exec(split_exec("firefox-esr %u", "x"), launch())),
            "/opt/sandbox/bin/sandbox firefox-esr %u");
  // Same basename: the profile's command stands for the entry's program.
  EXPECT_EQ(join_exec(sandboxed_exec(
                split_exec("/usr/lib/firefox-esr/firefox-esr --new-window %u", "x"), launch())),
            "/opt/sandbox/bin/sandbox firefox-esr --new-window %u");
  // The profile's command need not be called like the app.
  EXPECT_EQ(join_exec(sandboxed_exec(split_exec("mousepad %U", "x"),
                                     launch("editor", "/usr/bin/mousepad"))),
            "/opt/sandbox/bin/sandbox editor %U");
}

TEST(DesktopExec, OtherProgramsRunInTheAppsProfileAndLayer) {
  EXPECT_EQ(
      join_exec(sandboxed_exec(split_exec("firefox-helper --x %f", "x"), launch())),
      "/opt/sandbox/bin/sandbox run -p firefox-esr --name firefox-esr -- firefox-helper --x %f");
}

TEST(DesktopExec, ArgumentsKeepTheirMeaning) {
  const Words in = split_exec(R"(prog --title "My \"Doc\"" 'a\b' "100%%" %F)", "x");
  const Words out = sandboxed_exec(in, launch("prog", "prog"));
  EXPECT_EQ(out, (Words{"/opt/sandbox/bin/sandbox", "prog", "--title", "My \"Doc\"", "a\\b",
                        "100%%", "%F"}));
  EXPECT_EQ(join_exec(out),
            R"(/opt/sandbox/bin/sandbox prog --title "My \"Doc\"" "a\\b" 100%% %F)");
  // A sandbox binary in a directory with a space.
  SandboxLaunch l = launch("prog", "prog");
  l.sandbox = "/home/me/my tools/sandbox";
  EXPECT_EQ(join_exec(sandboxed_exec(Words{"prog"}, l)), R"("/home/me/my tools/sandbox" prog)");
}

TEST(DesktopExec, DeprecatedFieldCodesAreDropped) {
  EXPECT_EQ(join_exec(sandboxed_exec(split_exec("prog %d %U %m", "x"), launch("prog", "prog"))),
            "/opt/sandbox/bin/sandbox prog %U");
}

// `env NAME=VALUE... PROG`: the variables become --env options, so that they reach the app
// inside (the launcher passes on only what the profile keeps).
TEST(DesktopExec, EnvPrefixBecomesEnvOptions) {
  const auto l = launch("prog", "prog");
  EXPECT_EQ(join_exec(sandboxed_exec(split_exec("env FOO=1 BAR=\"a b\" prog %U", "x"), l)),
            "/opt/sandbox/bin/sandbox --env FOO=1 --env \"BAR=a b\" prog %U");
  EXPECT_EQ(join_exec(sandboxed_exec(split_exec("/usr/bin/env GDK_BACKEND=x11 other %f", "x"), l)),
            "/opt/sandbox/bin/sandbox run -p prog --name prog --env GDK_BACKEND=x11 -- other %f");
  EXPECT_EQ(exec_program(split_exec("env FOO=1 prog %U", "x")), "prog");
  // env with options is not a prefix we can move: it runs as the program.
  EXPECT_EQ(exec_program(split_exec("env -u FOO prog", "x")), "env");
  EXPECT_EQ(join_exec(sandboxed_exec(split_exec("env -u FOO prog", "x"), l)),
            "/opt/sandbox/bin/sandbox run -p prog --name prog -- env -u FOO prog");
  EXPECT_EQ(exec_program(split_exec("env FOO=1", "x")), "env");
}

TEST(DesktopExec, AnAppNamedLikeASubcommandComesAfterDashDash) {
  SandboxLaunch l = launch("run", "run");
  l.app_is_subcommand = true;
  EXPECT_EQ(join_exec(sandboxed_exec(Words{"run", "%u"}, l)), "/opt/sandbox/bin/sandbox -- run %u");
}

}  // namespace
}  // namespace sandbox::desktop
