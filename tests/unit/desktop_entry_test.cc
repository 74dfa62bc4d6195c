// Finding system entries and writing wrappers (desktop/entry.h), on made-up entries in
// temporary XDG data directories. Every wrapper is checked with desktop-file-validate.
#include <glib.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "desktop/entry.h"
#include "tests/unit/desktop_fixture.h"

namespace sandbox::desktop::testing {
namespace {

using Words = std::vector<std::string>;

SandboxLaunch launch_of(const std::string& app, const std::string& program) {
  SandboxLaunch l;
  l.sandbox = "/opt/sandbox/bin/sandbox";
  l.app = app;
  l.app_program = program;
  return l;
}

struct KeyFile {
  explicit KeyFile(const std::string& text) : kf(g_key_file_new()) {
    GError* error = nullptr;
    const bool ok = g_key_file_load_from_data(
        kf, text.c_str(), text.size(),
        static_cast<GKeyFileFlags>(G_KEY_FILE_KEEP_COMMENTS | G_KEY_FILE_KEEP_TRANSLATIONS),
        &error);
    EXPECT_TRUE(ok) << (error ? error->message : "") << "\n" << text;
    g_clear_error(&error);
  }
  ~KeyFile() { g_key_file_free(kf); }
  bool has(const std::string& group, const std::string& key) const {
    return g_key_file_has_key(kf, group.c_str(), key.c_str(), nullptr);
  }
  bool has_group(const std::string& group) const { return g_key_file_has_group(kf, group.c_str()); }
  std::string get(const std::string& group, const std::string& key) const {
    gchar* v = g_key_file_get_string(kf, group.c_str(), key.c_str(), nullptr);
    std::string s = v ? v : "<missing>";
    g_free(v);
    return s;
  }
  // The Exec of `group` as a launcher splits it.
  Words exec(const std::string& group = "Desktop Entry") const {
    gint argc = 0;
    gchar** argv = nullptr;
    EXPECT_TRUE(g_shell_parse_argv(get(group, "Exec").c_str(), &argc, &argv, nullptr));
    Words w(argv, argv + argc);
    g_strfreev(argv);
    return w;
  }
  GKeyFile* kf;
};

class DesktopEntryTest : public DesktopDirs {
 protected:
  // Makes the wrapper of the entry at sys1/applications/REL, writes it where install would and
  // returns its path.
  std::string wrap(const std::string& rel, const SandboxLaunch& l, bool alongside = false) {
    const auto e = find_entry_by_id(dirs(), rel);
    EXPECT_TRUE(e.has_value()) << rel;
    if (!e) return {};
    const std::string path = user_apps_ + "/" + wrapper_id(*e, alongside);
    write_file_atomically(path, make_wrapper(*e, l, alongside));
    return path;
  }
};

TEST_F(DesktopEntryTest, ApplicationsDirs) {
  EXPECT_EQ(applications_dirs(""),
            (Words{"/usr/local/share/applications", "/usr/share/applications"}));
  EXPECT_EQ(applications_dirs("/a/:relative:/b::/a"),
            (Words{"/a/applications", "/b/applications"}));
}

TEST_F(DesktopEntryTest, IdsComeFromThePathAndEarlierDirsWin) {
  system_entry("a.desktop", app_entry("A1", "a"));
  system_entry("a.desktop", app_entry("A2", "a"), /*first=*/false);
  system_entry("vendor/b.desktop", app_entry("B", "b"), /*first=*/false);
  system_entry("notes.txt", "not an entry");
  const auto all = list_entries(dirs());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, "a.desktop");
  EXPECT_EQ(all[0].path, sys1_ + "/applications/a.desktop");
  EXPECT_EQ(all[1].id, "vendor-b.desktop");
  EXPECT_EQ(all[1].path, sys2_ + "/applications/vendor/b.desktop");
  EXPECT_FALSE(find_entry_by_id(dirs(), "b.desktop"));
}

TEST_F(DesktopEntryTest, FindsEntriesByTheirProgram) {
  system_entry("org.example.Editor.desktop", app_entry("Editor", "/usr/bin/editor %F"));
  system_entry("editor-settings.desktop", app_entry("Editor settings", "editor --settings"));
  system_entry("env.desktop", app_entry("Env", "env GDK_BACKEND=x11 viewer %f"));
  system_entry("other.desktop", app_entry("Other", "other-editor"));
  system_entry("hidden.desktop", app_entry("Hidden", "editor", "Hidden=true\n"));
  system_entry("link.desktop", "[Desktop Entry]\nType=Link\nName=L\nURL=https://example.com/\n");
  system_entry("broken.desktop", "this is not a key file");
  Words ids;
  for (const auto& e : find_entries_by_program(dirs(), {"/opt/editor/editor"})) ids.push_back(e.id);
  EXPECT_EQ(ids, (Words{"editor-settings.desktop", "org.example.Editor.desktop"}));
  ids.clear();
  for (const auto& e : find_entries_by_program(dirs(), {"viewer", "nothing"})) ids.push_back(e.id);
  EXPECT_EQ(ids, (Words{"env.desktop"}));
}

TEST_F(DesktopEntryTest, ShadowingWrapperRewritesExecAndKeepsTheRest) {
  system_entry("org.example.Editor.desktop",
               "# A comment of the vendor's\n"
               "[Desktop Entry]\n"
               "Version=1.0\n"
               "Type=Application\n"
               "Name=Editor\n"
               "Name[de]=Bearbeiter\n"
               "GenericName=Text Editor\n"
               "Comment=Edit text\n"
               "Icon=org.example.Editor\n"
               "# about Exec\n"
               "Exec=editor --new-window %F\n"
               "Categories=Utility;TextEditor;\n"
               "MimeType=text/plain;\n"
               "StartupWMClass=Editor\n"
               "Keywords=text;edit;\n"
               "X-Vendor-Thing=kept\n");
  const std::string path = wrap("org.example.Editor.desktop", launch_of("editor", "editor"));
  EXPECT_EQ(path, user_apps_ + "/org.example.Editor.desktop");
  const std::string text = read_text(path);
  const KeyFile w(text);
  EXPECT_EQ(w.exec(), (Words{"/opt/sandbox/bin/sandbox", "editor", "--new-window", "%F"}));
  EXPECT_EQ(w.get("Desktop Entry", "Exec"), "/opt/sandbox/bin/sandbox editor --new-window %F");
  EXPECT_EQ(w.get("Desktop Entry", "Name"), "Editor");
  EXPECT_EQ(w.get("Desktop Entry", "Name[de]"), "Bearbeiter");
  for (const char* key : {"Version", "Type", "GenericName", "Comment", "Icon", "Categories",
                          "MimeType", "StartupWMClass", "Keywords", "X-Vendor-Thing"})
    EXPECT_TRUE(w.has("Desktop Entry", key)) << key;
  EXPECT_EQ(w.get("Desktop Entry", "X-Vendor-Thing"), "kept");
  EXPECT_EQ(w.get("Desktop Entry", kAppKey), "editor");
  EXPECT_EQ(w.get("Desktop Entry", kSourceKey), sys1_ + "/applications/org.example.Editor.desktop");
  EXPECT_FALSE(w.has("Desktop Entry", "TryExec"));
  EXPECT_FALSE(w.has("Desktop Entry", "DBusActivatable"));
  EXPECT_EQ(text.rfind("# Generated by `sandbox desktop install editor` from\n", 0), 0u) << text;
  EXPECT_NE(text.find("# A comment of the vendor's"), std::string::npos) << text;
  EXPECT_NE(text.find("# about Exec\nExec="), std::string::npos) << text;
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_VALID_ENTRY(path);
}

TEST_F(DesktopEntryTest, EveryActionGoesThroughTheSandbox) {
  system_entry(
      "browser.desktop",
      app_entry("Browser", "browser %u",
                "Actions=new-window;private;remote;\n"
                "\n[Desktop Action new-window]\nName=New Window\nExec=browser --new-window %u\n"
                "\n[Desktop Action private]\nName=New Private Window\n"
                "Exec=/usr/lib/browser/browser --private-window \"a b\"\n"
                "\n[Desktop Action remote]\nName=Remote\nExec=browser-remote --ping\n"));
  const std::string path = wrap("browser.desktop", launch_of("browser", "browser"));
  const KeyFile w(read_text(path));
  EXPECT_EQ(w.exec("Desktop Action new-window"),
            (Words{"/opt/sandbox/bin/sandbox", "browser", "--new-window", "%u"}));
  EXPECT_EQ(w.exec("Desktop Action private"),
            (Words{"/opt/sandbox/bin/sandbox", "browser", "--private-window", "a b"}));
  EXPECT_EQ(w.exec("Desktop Action remote"),
            (Words{"/opt/sandbox/bin/sandbox", "run", "-p", "browser", "--name", "browser", "--",
                   "browser-remote", "--ping"}));
  EXPECT_EQ(w.get("Desktop Entry", "Actions"), "new-window;private;remote;");
  EXPECT_VALID_ENTRY(path);
}

TEST_F(DesktopEntryTest, TryExecNamesTheSandbox) {
  system_entry("t.desktop", app_entry("T", "/usr/bin/tool %f", "TryExec=/usr/bin/tool\n"));
  const std::string path = wrap("t.desktop", launch_of("tool", "tool"));
  const KeyFile w(read_text(path));
  EXPECT_EQ(w.get("Desktop Entry", "TryExec"), "/opt/sandbox/bin/sandbox");
  EXPECT_VALID_ENTRY(path);
}

TEST_F(DesktopEntryTest, DBusActivationIsTurnedOff) {
  // D-Bus activation starts the app from its D-Bus service file, outside the sandbox.
  system_entry("org.example.App.desktop",
               app_entry("App", "app --gapplication-service",
                         "DBusActivatable=true\nActions=win;busonly;\n"
                         "\n[Desktop Action win]\nName=Window\nExec=app --window\n"
                         "\n[Desktop Action busonly]\nName=Bus only\n"));
  const std::string path = wrap("org.example.App.desktop", launch_of("app", "app"));
  const KeyFile w(read_text(path));
  EXPECT_EQ(w.get("Desktop Entry", "DBusActivatable"), "false");
  // An action with no Exec could only be activated over D-Bus: it is dropped.
  EXPECT_EQ(w.get("Desktop Entry", "Actions"), "win;");
  EXPECT_FALSE(w.has_group("Desktop Action busonly"));
  EXPECT_EQ(w.exec("Desktop Action win"), (Words{"/opt/sandbox/bin/sandbox", "app", "--window"}));
  EXPECT_VALID_ENTRY(path);
}

TEST_F(DesktopEntryTest, AnEntryWithoutExecCannotBeWrapped) {
  system_entry("busonly.desktop",
               "[Desktop Entry]\nType=Application\nName=B\nDBusActivatable=true\n");
  const auto e = find_entry_by_id(dirs(), "busonly.desktop");
  ASSERT_TRUE(e);
  try {
    make_wrapper(*e, launch_of("b", "b"), false);
    FAIL() << "no error";
  } catch (const DesktopError& err) {
    EXPECT_NE(std::string(err.what()).find("no Exec line: the app starts only by D-Bus activation"),
              std::string::npos)
        << err.what();
  }
}

TEST_F(DesktopEntryTest, RefusesWhatIsNotAnApplication) {
  system_entry("link.desktop", "[Desktop Entry]\nType=Link\nName=L\nURL=https://example.com/\n");
  system_entry("gone.desktop", app_entry("G", "g", "Hidden=true\n"));
  for (const char* id : {"link.desktop", "gone.desktop"}) {
    const auto e = find_entry_by_id(dirs(), id);
    ASSERT_TRUE(e) << id;
    EXPECT_THROW(make_wrapper(*e, launch_of("x", "x"), false), DesktopError) << id;
  }
  // A wrapper is not wrapped again.
  system_entry("w.desktop", app_entry("W", "w", "X-Sandbox-App=w\n"));
  EXPECT_THROW(make_wrapper(*find_entry_by_id(dirs(), "w.desktop"), launch_of("w", "w"), false),
               DesktopError);
}

TEST_F(DesktopEntryTest, AlongsideGetsItsOwnIdAndASandboxedName) {
  system_entry(
      "org.example.Viewer.desktop",
      app_entry(
          "Viewer", "viewer %f",
          "Name[de]=Betrachter\nName[sr@latin]=Pregledač\nGenericName=Image Viewer\n"
          "Actions=slides;\n\n[Desktop Action slides]\nName=Slideshow\nExec=viewer --slideshow\n"));
  const std::string path = wrap("org.example.Viewer.desktop", launch_of("viewer", "viewer"), true);
  EXPECT_EQ(path, user_apps_ + "/sandbox-org.example.Viewer.desktop");
  const KeyFile w(read_text(path));
  EXPECT_EQ(w.get("Desktop Entry", "Name"), "Viewer (sandboxed)");
  EXPECT_EQ(w.get("Desktop Entry", "Name[de]"), "Betrachter (sandboxed)");
  EXPECT_EQ(w.get("Desktop Entry", "Name[sr@latin]"), "Pregledač (sandboxed)");
  EXPECT_EQ(w.get("Desktop Entry", "GenericName"), "Image Viewer");
  EXPECT_EQ(w.get("Desktop Action slides", "Name"), "Slideshow");
  EXPECT_EQ(w.exec(), (Words{"/opt/sandbox/bin/sandbox", "viewer", "%f"}));
  EXPECT_VALID_ENTRY(path);
}

// The two levels of escaping (key file, then Exec quoting) survive a round trip, and what a
// launcher runs is what the system entry ran, after `sandbox APP`.
TEST_F(DesktopEntryTest, TrickyExecLinesRoundTrip) {
  // The Exec value, and as the file must hold it: the key file escapes each backslash again.
  const std::string exec =
      R"(/bin/sh -c "printf '%%s\\n' \"\$1\" > \"\$HOME/out file\"; echo \`date\`" sh %f)";
  std::string in_file;
  for (char c : exec) in_file += c == '\\' ? std::string("\\\\") : std::string(1, c);
  system_entry("tricky.desktop", app_entry("Tricky", in_file));
  const auto original = KeyFile(read_text(sys1_ + "/applications/tricky.desktop")).exec();
  ASSERT_EQ(original.size(), 5u);
  EXPECT_EQ(original[2], R"(printf '%%s\n' "$1" > "$HOME/out file"; echo `date`)");
  const std::string path = wrap("tricky.desktop", launch_of("tricky", "/bin/sh"));
  const KeyFile w(read_text(path));
  Words expected = {"/opt/sandbox/bin/sandbox", "tricky"};
  expected.insert(expected.end(), original.begin() + 1, original.end());
  EXPECT_EQ(w.exec(), expected);
  EXPECT_VALID_ENTRY(path);
}

TEST_F(DesktopEntryTest, ListsOnlyOurWrappers) {
  system_entry("a.desktop", app_entry("A", "a"));
  wrap("a.desktop", launch_of("a", "a"));
  wrap("a.desktop", launch_of("a", "a"), true);
  write_text(user_apps_ + "/mine.desktop", app_entry("Mine", "mine"));
  write_text(user_apps_ + "/mimeinfo.cache", "[MIME Cache]\n");
  const auto all = list_wrappers(user_apps_);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, "a.desktop");
  EXPECT_EQ(all[0].app, "a");
  EXPECT_EQ(all[0].source, sys1_ + "/applications/a.desktop");
  EXPECT_EQ(all[1].id, "sandbox-a.desktop");
  EXPECT_FALSE(read_wrapper(user_apps_ + "/mine.desktop"));
  EXPECT_TRUE(list_wrappers(base_ + "/nowhere").empty());
}

TEST_F(DesktopEntryTest, AtomicWriteReplacesAndLeavesNoTemporaryFile) {
  const std::string path = user_apps_ + "/x.desktop";  // the directory does not exist yet
  write_file_atomically(path, "one");
  write_file_atomically(path, "two");
  EXPECT_EQ(read_text(path), "two");
  struct stat st;
  ASSERT_EQ(stat(user_apps_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);  // created as the XDG base directory spec says
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(user_apps_)) ++files;
  EXPECT_EQ(files, 1u);
}

// Every real entry of this system that validates must still validate once wrapped.
TEST_F(DesktopEntryTest, WrappersOfTheSystemsEntriesValidate) {
  if (!validate("/dev/null")) GTEST_SKIP() << "desktop-file-validate is not installed";
  const auto real = list_entries(applications_dirs(""));
  if (real.empty()) GTEST_SKIP() << "no desktop entries in /usr/local/share or /usr/share";
  int wrapped = 0;
  for (const auto& e : real) {
    if (validate(e.path).value_or("x").find("error") != std::string::npos) continue;
    std::string text;
    try {
      text = make_wrapper(e, launch_of("app", "app"), true);
    } catch (const DesktopError&) {
      continue;  // not an application, Hidden, no Exec
    }
    const std::string path = user_apps_ + "/" + wrapper_id(e, true);
    write_file_atomically(path, text);
    const auto verdict = validate(path);
    EXPECT_EQ(verdict->find("error"), std::string::npos) << e.path << ":\n" << *verdict;
    ++wrapped;
  }
  std::printf("wrapped and validated %d of this system's %zu entries\n", wrapped, real.size());
}

}  // namespace
}  // namespace sandbox::desktop::testing
