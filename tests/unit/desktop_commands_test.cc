// `sandbox desktop install|remove|list` (launcher/desktop_commands.h) on temporary XDG
// directories: which entries it finds, what it writes where, what it refuses, what it removes.
#include "launcher/desktop_commands.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include "desktop/entry.h"
#include "launcher/cli.h"
#include "profiles/profile.h"
#include "tests/unit/desktop_fixture.h"
#include "tests/unit/stream_util.h"

namespace sandbox::desktop::testing {
namespace {

using launcher::DesktopIo;
using launcher::DesktopOptions;
using launcher::HostFacts;

using sandbox::testing::drain;

class DesktopCommandsTest : public DesktopDirs {
 protected:
  void SetUp() override {
    DesktopDirs::SetUp();
    host_.home = home_;
    host_.xdg_config_home = home_ + "/.config";
    host_.xdg_data_home = home_ + "/.local/share";
    host_.share_dir = base_ + "/share";
    host_.environ = {"HOME=" + home_, "XDG_DATA_DIRS=" + data_dirs()};
    options_.sandbox_exe = "/opt/sandbox/bin/sandbox";
    options_.refresh_database = false;
  }

  void profile(const std::string& name, const std::string& yaml) {
    write_text(host_.xdg_config_home + "/sandbox/profiles/" + name + ".yaml",
               "version: 1\n" + yaml);
  }

  // Runs `sandbox desktop ARGS`; out_ and err_ hold what it printed.
  int desktop(const std::vector<std::string>& args, bool alongside = false) {
    std::FILE* out = std::tmpfile();
    std::FILE* err = std::tmpfile();
    DesktopOptions o = options_;
    o.alongside = alongside;
    const int rc = launcher::run_desktop(host_, args, o, DesktopIo{out, err});
    out_ = drain(out);
    err_ = drain(err);
    std::fclose(out);
    std::fclose(err);
    return rc;
  }

  std::string wrapper(const std::string& id) const { return user_apps_ + "/" + id; }
  bool exists(const std::string& path) const { return std::filesystem::exists(path); }

  HostFacts host_;
  DesktopOptions options_;
  std::string out_, err_;
};

TEST_F(DesktopCommandsTest, InstallFindsTheEntriesThatRunTheProfilesCommand) {
  profile("editor", "command: [/usr/bin/mousepad]\n");
  system_entry("org.example.Mousepad.desktop", app_entry("Mousepad", "mousepad %U"));
  system_entry("org.example.Mousepad-settings.desktop",
               app_entry("Settings", "mousepad --preferences"));
  system_entry("other.desktop", app_entry("Other", "gedit %U"));
  ASSERT_EQ(desktop({"install", "editor"}), 0) << err_;
  EXPECT_EQ(out_, "installed " + wrapper("org.example.Mousepad-settings.desktop") + " (shadows " +
                      sys1_ +
                      "/applications/org.example.Mousepad-settings.desktop)\n"
                      "installed " +
                      wrapper("org.example.Mousepad.desktop") + " (shadows " + sys1_ +
                      "/applications/org.example.Mousepad.desktop)\n");
  EXPECT_FALSE(exists(wrapper("other.desktop")));
  const std::string text = read_text(wrapper("org.example.Mousepad.desktop"));
  EXPECT_NE(text.find("\nExec=/opt/sandbox/bin/sandbox editor %U\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nX-Sandbox-App=editor\n"), std::string::npos) << text;
  EXPECT_VALID_ENTRY(wrapper("org.example.Mousepad.desktop"));
  EXPECT_VALID_ENTRY(wrapper("org.example.Mousepad-settings.desktop"));
}

TEST_F(DesktopCommandsTest, InstallFindsTheAppsNameWithoutACommand) {
  profile("viewer", "");
  system_entry("viewer.desktop", app_entry("Viewer", "/usr/bin/viewer %f"));
  ASSERT_EQ(desktop({"install", "viewer"}), 0) << err_;
  EXPECT_TRUE(exists(wrapper("viewer.desktop")));
}

TEST_F(DesktopCommandsTest, DesktopEntryKeyNamesTheEntry) {
  profile("browser", "command: [firefox-esr]\ndesktop_entry: vendor-web.desktop\n");
  system_entry("vendor/web.desktop", app_entry("Web", "web-launcher %u"), /*first=*/false);
  system_entry("firefox-esr.desktop", app_entry("Firefox", "firefox-esr %u"));
  ASSERT_EQ(desktop({"install", "browser"}), 0) << err_;
  EXPECT_TRUE(exists(wrapper("vendor-web.desktop")));
  EXPECT_FALSE(exists(wrapper("firefox-esr.desktop")));  // the key wins over the command
  const std::string text = read_text(wrapper("vendor-web.desktop"));
  EXPECT_NE(
      text.find(
          "\nExec=/opt/sandbox/bin/sandbox run -p browser --name browser -- web-launcher %u\n"),
      std::string::npos)
      << text;
}

TEST_F(DesktopCommandsTest, NoProfileIsAnErrorThatSaysWhereItLooked) {
  EXPECT_EQ(desktop({"install", "ghost"}), 125);
  EXPECT_NE(err_.find("sandbox: no profile named 'ghost' (looked in " + host_.xdg_config_home +
                      "/sandbox/profiles, "),
            std::string::npos)
      << err_;
  EXPECT_NE(err_.find("desktop_entry: ID.desktop"), std::string::npos) << err_;
  EXPECT_FALSE(exists(user_apps_));
}

TEST_F(DesktopCommandsTest, NoEntryIsAnErrorThatSuggestsDesktopEntry) {
  profile("tool", "command: [/usr/bin/tool]\n");
  system_entry("other.desktop", app_entry("Other", "other"));
  EXPECT_EQ(desktop({"install", "tool"}), 125);
  EXPECT_EQ(err_,
            "sandbox: no desktop entry runs tool in " + sys1_ + "/applications, " + sys2_ +
                "/applications; name the app's entry in " + host_.xdg_config_home +
                "/sandbox/profiles/tool.yaml, e.g. `desktop_entry: org.example.App.desktop`\n");
  profile("tool", "desktop_entry: missing.desktop\n");
  EXPECT_EQ(desktop({"install", "tool"}), 125);
  EXPECT_NE(err_.find("no desktop entry 'missing.desktop' (desktop_entry of "), std::string::npos)
      << err_;
}

TEST_F(DesktopCommandsTest, ProfileErrorsAreReported) {
  profile("bad", "desktop_entry: /usr/share/applications/x.desktop\n");
  EXPECT_EQ(desktop({"install", "bad"}), 125);
  EXPECT_NE(err_.find("bad.yaml:2:16: desktop_entry: '/usr/share/applications/x.desktop' is not a "
                      "desktop file id"),
            std::string::npos)
      << err_;
}

TEST_F(DesktopCommandsTest, AlongsideAddsASecondEntry) {
  profile("viewer", "");
  system_entry("viewer.desktop", app_entry("Viewer", "viewer %f", "Name[fr]=Visionneuse\n"));
  ASSERT_EQ(desktop({"install", "viewer"}, /*alongside=*/true), 0) << err_;
  EXPECT_FALSE(exists(wrapper("viewer.desktop")));
  const std::string text = read_text(wrapper("sandbox-viewer.desktop"));
  EXPECT_NE(text.find("\nName=Viewer (sandboxed)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nName[fr]=Visionneuse (sandboxed)\n"), std::string::npos) << text;
  EXPECT_VALID_ENTRY(wrapper("sandbox-viewer.desktop"));
}

TEST_F(DesktopCommandsTest, InstallReplacesItsOwnWrapperButNoOtherFile) {
  profile("viewer", "");
  profile("other", "desktop_entry: viewer.desktop\n");
  system_entry("viewer.desktop", app_entry("Viewer", "viewer %f"));
  ASSERT_EQ(desktop({"install", "viewer"}), 0) << err_;
  ASSERT_EQ(desktop({"install", "viewer"}), 0) << err_;  // again: an update
  EXPECT_EQ(desktop({"install", "other"}), 125);
  EXPECT_EQ(err_,
            "sandbox: " + wrapper("viewer.desktop") +
                " is the wrapper of app 'viewer'; run `sandbox desktop remove viewer` first\n");
  // A file of the person's own under that id is never overwritten.
  const std::string own = app_entry("My viewer", "viewer --my-options %f");
  write_text(wrapper("viewer.desktop"), own);
  EXPECT_EQ(desktop({"install", "viewer"}), 125);
  EXPECT_NE(err_.find(wrapper("viewer.desktop") + " exists and was not written by sandbox"),
            std::string::npos)
      << err_;
  EXPECT_EQ(read_text(wrapper("viewer.desktop")), own);
  // --alongside does not collide with it.
  EXPECT_EQ(desktop({"install", "viewer"}, true), 0) << err_;
}

TEST_F(DesktopCommandsTest, DryRunPrintsAndWritesNothing) {
  profile("viewer", "");
  system_entry("viewer.desktop", app_entry("Viewer", "viewer %f"));
  options_.dry_run = true;
  ASSERT_EQ(desktop({"install", "viewer"}), 0) << err_;
  EXPECT_EQ(out_.rfind("# " + wrapper("viewer.desktop") + "\n# Generated by", 0), 0u) << out_;
  EXPECT_FALSE(exists(user_apps_));
}

TEST_F(DesktopCommandsTest, RemoveTouchesOnlyTheAppsWrappers) {
  profile("viewer", "");
  profile("editor", "");
  system_entry("viewer.desktop", app_entry("Viewer", "viewer %f"));
  system_entry("editor.desktop", app_entry("Editor", "editor %F"));
  ASSERT_EQ(desktop({"install", "viewer"}), 0) << err_;
  ASSERT_EQ(desktop({"install", "viewer"}, true), 0) << err_;
  ASSERT_EQ(desktop({"install", "editor"}), 0) << err_;
  const std::string mine = app_entry("Mine", "viewer --mine");
  write_text(wrapper("mine.desktop"), mine);
  // Someone else's entry that mentions the app, but not in X-Sandbox-App.
  const std::string similar = app_entry("Similar", "sandbox viewer", "X-Other-App=viewer\n");
  write_text(wrapper("similar.desktop"), similar);

  ASSERT_EQ(desktop({"remove", "viewer"}), 0) << err_;
  EXPECT_EQ(out_, "removed " + wrapper("sandbox-viewer.desktop") + "\nremoved " +
                      wrapper("viewer.desktop") + "\n");
  EXPECT_FALSE(exists(wrapper("viewer.desktop")));
  EXPECT_FALSE(exists(wrapper("sandbox-viewer.desktop")));
  EXPECT_TRUE(exists(wrapper("editor.desktop")));
  EXPECT_EQ(read_text(wrapper("mine.desktop")), mine);
  EXPECT_EQ(read_text(wrapper("similar.desktop")), similar);
  EXPECT_TRUE(exists(sys1_ + "/applications/viewer.desktop"));

  ASSERT_EQ(desktop({"remove", "viewer"}), 0);
  EXPECT_EQ(out_, "");
  EXPECT_EQ(err_, "sandbox: no menu entries of viewer in " + user_apps_ + "\n");
}

TEST_F(DesktopCommandsTest, ListShowsFileAppAndEntry) {
  EXPECT_EQ(desktop({"list"}), 0);
  EXPECT_EQ(out_, "");
  EXPECT_EQ(err_, "sandbox: no menu entries installed (in " + user_apps_ + ")\n");

  profile("viewer", "");
  system_entry("viewer.desktop", app_entry("Viewer", "viewer %f"));
  ASSERT_EQ(desktop({"install", "viewer"}), 0) << err_;
  ASSERT_EQ(desktop({"install", "viewer"}, true), 0) << err_;
  write_text(wrapper("mine.desktop"), app_entry("Mine", "mine"));
  ASSERT_EQ(desktop({"list"}), 0) << err_;
  const std::string src = sys1_ + "/applications/viewer.desktop";
  const std::string w1 = wrapper("sandbox-viewer.desktop"), w2 = wrapper("viewer.desktop");
  const std::string pad(w1.size() - w2.size(), ' ');
  EXPECT_EQ(out_, "FILE" + std::string(w1.size() - 4, ' ') + "  APP     ENTRY\n" + w1 +
                      "  viewer  next to " + src + "\n" + w2 + pad + "  viewer  shadows " + src +
                      "\n");
  // The system entry went away (the app was uninstalled).
  std::filesystem::remove(src);
  ASSERT_EQ(desktop({"list"}), 0) << err_;
  EXPECT_NE(out_.find("shadows " + src + " (gone)\n"), std::string::npos) << out_;
}

TEST_F(DesktopCommandsTest, UsageErrors) {
  EXPECT_EQ(desktop({}), 125);
  EXPECT_EQ(
      err_,
      "sandbox: desktop needs a command: desktop install APP [--alongside] | remove APP | list\n");
  EXPECT_EQ(desktop({"add", "x"}), 125);
  EXPECT_EQ(err_, "sandbox: desktop: 'add' is not one of install, remove, list\n");
  EXPECT_EQ(desktop({"install"}), 125);
  EXPECT_EQ(err_, "sandbox: desktop install takes one APP\n");
  EXPECT_EQ(desktop({"list", "x"}), 125);
  EXPECT_EQ(desktop({"remove", "x"}, true), 125);
  EXPECT_EQ(err_, "sandbox: --alongside applies to desktop install only\n");
  EXPECT_EQ(desktop({"install", "../x"}), 125);
  EXPECT_NE(err_.find("'../x' is not a valid app name"), std::string::npos);
}

TEST_F(DesktopCommandsTest, RefreshesTheDesktopDatabaseWhenInstalled) {
  gchar* tool = g_find_program_in_path("update-desktop-database");
  if (!tool)
    GTEST_SKIP() << "update-desktop-database is not installed (apt-get install desktop-file-utils)";
  g_free(tool);
  options_.refresh_database = true;
  profile("viewer", "");
  system_entry("viewer.desktop", app_entry("Viewer", "viewer %f", "MimeType=image/png;\n"));
  ASSERT_EQ(desktop({"install", "viewer"}), 0) << err_;
  const std::string cache = read_text(user_apps_ + "/mimeinfo.cache");
  EXPECT_NE(cache.find("image/png=viewer.desktop;"), std::string::npos) << cache;
  ASSERT_EQ(desktop({"remove", "viewer"}), 0) << err_;
  EXPECT_EQ(read_text(user_apps_ + "/mimeinfo.cache").find("viewer.desktop"), std::string::npos);
}

// The command line: `desktop` takes the rest of the words, `--alongside` anywhere.
TEST(DesktopCli, ParsesTheSubcommand) {
  using launcher::Command;
  auto inv = launcher::parse_cli({"sandbox", "desktop", "install", "firefox", "--alongside"});
  EXPECT_EQ(inv.command, Command::kDesktop);
  EXPECT_EQ(inv.args, (std::vector<std::string>{"install", "firefox"}));
  EXPECT_TRUE(inv.alongside);
  inv = launcher::parse_cli({"sandbox", "desktop", "--alongside", "install", "firefox"});
  EXPECT_EQ(inv.args, (std::vector<std::string>{"install", "firefox"}));
  EXPECT_TRUE(inv.alongside);
  inv = launcher::parse_cli({"sandbox", "desktop", "list"});
  EXPECT_EQ(inv.args, (std::vector<std::string>{"list"}));
  EXPECT_FALSE(inv.alongside);
  inv = launcher::parse_cli({"sandbox", "desktop"});
  EXPECT_EQ(inv.command, Command::kDesktop);
  EXPECT_TRUE(inv.args.empty());
  // `sandbox -- desktop` is an app called desktop.
  EXPECT_EQ(launcher::parse_cli({"sandbox", "--", "desktop"}).command, Command::kRunApp);
}

TEST(DesktopProfileKey, ParsesValidatesAndMerges) {
  using profiles::parse_profile_text;
  EXPECT_EQ(parse_profile_text("version: 1\ndesktop_entry: firefox-esr.desktop\n", "t.yaml")
                .profile.desktop_entry,
            "firefox-esr.desktop");
  EXPECT_FALSE(parse_profile_text("version: 1\n", "t.yaml").profile.desktop_entry);
  auto error_of = [](const std::string& yaml) {
    try {
      parse_profile_text(yaml, "t.yaml");
    } catch (const profiles::ProfileError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string rest =
      " is not a desktop file id (a file name ending in .desktop, such as "
      "firefox-esr.desktop, without '/')";
  EXPECT_EQ(error_of("version: 1\ndesktop_entry: firefox\n"),
            "t.yaml:2:16: desktop_entry: 'firefox'" + rest);
  EXPECT_EQ(error_of("version: 1\ndesktop_entry: a/b.desktop\n"),
            "t.yaml:2:16: desktop_entry: 'a/b.desktop'" + rest);
  EXPECT_EQ(error_of("version: 1\ndesktop_entry: .desktop\n"),
            "t.yaml:2:16: desktop_entry: '.desktop'" + rest);
  EXPECT_EQ(error_of("version: 1\ndesktop_entry: [a.desktop]\n"),
            "t.yaml:2:16: desktop_entry: expected a string, got a list");
  profiles::Profile base, overlay;
  base.desktop_entry = "base.desktop";
  EXPECT_EQ(profiles::merge(base, overlay).desktop_entry, "base.desktop");
  overlay.desktop_entry = "leaf.desktop";
  EXPECT_EQ(profiles::merge(base, overlay).desktop_entry, "leaf.desktop");
}

}  // namespace
}  // namespace sandbox::desktop::testing
