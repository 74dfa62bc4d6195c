// The browsers of Debian, under their shipped profiles: Firefox ESR takes a headless
// screenshot of a local page, Chromium dumps a local page's DOM with its own sandbox on.
// Both run with `--net none`: the tests send no traffic anywhere.
#include <dirent.h>
#include <sys/stat.h>

#include <map>

#include "tests/system/system.h"

namespace sandbox::it {
namespace {

const char* kPage =
    "<!doctype html><html><head><title>sandbox page</title></head>"
    "<body style=\"background:#2a6\"><h1 id=\"h\">Hello from the sandbox</h1>"
    "<div style=\"width:200px;height:100px;background:#c33\"></div>"
    "<script>const p = document.createElement('p'); p.id = 'js';"
    " p.textContent = 'made by ' + 'script'; document.body.appendChild(p);</script>"
    "</body></html>\n";

// Every path under `dir` with its content ("" for directories), to compare before and after.
void list_tree(const std::string& dir, const std::string& rel, std::map<std::string, std::string>& out) {
  DIR* d = opendir((dir + rel).c_str());
  if (!d) return;
  std::vector<std::string> names;
  while (dirent* e = readdir(d))
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") names.push_back(e->d_name);
  closedir(d);
  for (const auto& n : names) {
    const std::string path = rel + "/" + n;
    struct stat st;
    if (lstat((dir + path).c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      out[path] = "<dir>";
      list_tree(dir, path, out);
    } else {
      out[path] = read_file(dir + path).value_or("<unreadable>");
    }
  }
}

std::map<std::string, std::string> tree(const std::string& dir) {
  std::map<std::string, std::string> out;
  list_tree(dir, "", out);
  return out;
}

// A file named `name` anywhere under `dir`.
bool has_file_named(const std::string& dir, const std::string& name) {
  for (const auto& [path, content] : tree(dir))
    if (path.size() >= name.size() + 1 && path.compare(path.size() - name.size() - 1, std::string::npos, "/" + name) == 0)
      return true;
  return false;
}

uint32_t png_u32(const std::string& d, size_t at) {
  return static_cast<uint32_t>(static_cast<unsigned char>(d[at])) << 24 |
         static_cast<uint32_t>(static_cast<unsigned char>(d[at + 1])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(d[at + 2])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(d[at + 3]));
}

class FirefoxTest : public SystemTest {
 protected:
  void SetUp() override {
    SystemTest::SetUp();
    if (IsSkipped()) return;
    SYSTEM_REQUIRE({"firefox-esr", "firefox-esr"});
  }
};

TEST_F(FirefoxTest, HeadlessScreenshotOfALocalPage) {
  write_file(in_home("page.html"), kPage);
  // A Firefox profile of the user's own, which the sandbox must leave as it is.
  make_dirs(in_home(".mozilla/firefox/abcd1234.default-esr"));
  write_file(in_home(".mozilla/firefox/profiles.ini"),
             "[Profile0]\nName=default-esr\nIsRelative=1\nPath=abcd1234.default-esr\nDefault=1\n");
  write_file(in_home(".mozilla/firefox/abcd1234.default-esr/prefs.js"), "// the user's prefs\n");
  const auto mozilla_before = tree(in_home(".mozilla"));
  const std::string out = outside_dir("shots");

  const Result r = run({paths().launcher, "--net", "none", "--rw", out, "firefox", "--headless",
                        "--window-size", "800,600", "--screenshot", out + "/shot.png",
                        "file://" + in_home("page.html")},
                       options(), 150);
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  const auto png = read_file(out + "/shot.png");
  ASSERT_TRUE(png.has_value()) << "no screenshot written\n" << r.describe();
  ASSERT_GE(png->size(), 24u);
  EXPECT_EQ(png->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png->substr(12, 4), "IHDR");
  EXPECT_EQ(png_u32(*png, 16), 800u);
  EXPECT_EQ(png_u32(*png, 20), 600u);
  // A blank page compresses to a few hundred bytes; this one has text and colors.
  EXPECT_GT(png->size(), 4000u) << "the screenshot looks empty";

  // The real profile is untouched; what Firefox made of its profile is in its layer (where
  // the home's ~/.mozilla would be, or the XDG location newer Firefox uses), not in the home.
  EXPECT_EQ(tree(in_home(".mozilla")), mozilla_before) << "the real ~/.mozilla changed";
  EXPECT_FALSE(exists(in_home(".config/mozilla"))) << "Firefox wrote its profile to the real home";
  const std::string upper = layer("firefox") + "/upper";
  EXPECT_TRUE(has_file_named(upper + "/.mozilla", "prefs.js") ||
              has_file_named(upper + "/.config/mozilla", "prefs.js"))
      << "no new Firefox profile in the layer " << upper;
}

// BUG (see the report of issue 4): default.yaml hides ~/.mozilla, and a profile that extends
// it cannot lift that hide, so Firefox in its own sandbox sees an empty, read-only ~/.mozilla
// instead of the user's profile behind the copy-on-write overlay.
TEST_F(FirefoxTest, SeesItsOwnProfileDirectoryCopyOnWrite) {
  make_dirs(in_home(".mozilla/firefox"));
  write_file(in_home(".mozilla/firefox/profiles.ini"), "[General]\nthe-users-profile=1\n");
  const Result r = run({paths().launcher, "run", "-p", "firefox", "--net", "none", "--", "/bin/sh",
                        "-c",
                        "cat ~/.mozilla/firefox/profiles.ini; "
                        "echo new > ~/.mozilla/firefox/written && echo wrote"},
                       options(), 30);
  EXPECT_NE(r.out.find("the-users-profile=1"), std::string::npos)
      << "the firefox profile does not see the user's ~/.mozilla\n" << r.describe();
  EXPECT_NE(r.out.find("wrote"), std::string::npos) << r.describe();
  EXPECT_FALSE(exists(in_home(".mozilla/firefox/written"))) << "written through to the real home";
  // Control: the default profile hides it.
  const Result hidden = run({paths().launcher, "run", "--", "/bin/cat", in_home(".mozilla/firefox/profiles.ini")},
                            options(), 30);
  EXPECT_EQ(hidden.out.find("the-users-profile"), std::string::npos) << hidden.describe();
}

class ChromiumTest : public SystemTest {
 protected:
  void SetUp() override {
    SystemTest::SetUp();
    if (IsSkipped()) return;
    SYSTEM_REQUIRE({"chromium", "chromium"});
    write_file(in_home("page.html"), kPage);
  }

  // Never --no-sandbox: Chromium refuses to start when its sandbox cannot be set up.
  std::vector<std::string> dump_dom_args() const {
    return {"--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-default-browser-check",
            "--dump-dom", "file://" + home_ + "/page.html"};
  }
};

TEST_F(ChromiumTest, DumpsTheDomWithItsOwnSandbox) {
  std::vector<std::string> argv = {paths().launcher, "--net", "none", "chromium"};
  for (const auto& a : dump_dom_args()) argv.push_back(a);
  const Result r = run(argv, options(), 150);
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("<h1 id=\"h\">Hello from the sandbox</h1>"), std::string::npos) << r.describe();
  // The DOM, not the file: the page's script ran.
  EXPECT_NE(r.out.find("<p id=\"js\">made by script</p>"), std::string::npos) << r.describe();
  EXPECT_EQ(r.err.find("No usable sandbox"), std::string::npos) << r.describe();
}

TEST_F(ChromiumTest, WithoutNestedUserNamespacesItsSandboxCannotStart) {
  // The control for the test above: Chromium does need the user namespaces the profile allows
  // (and so, above, ran with its sandbox on).
  const std::string profile = write_profile(
      "chromium-no-userns", "version: 1\nextends: chromium\nsecurity:\n  nested_userns: false\n");
  std::vector<std::string> argv = {paths().launcher, "run", "-p", profile, "--net", "none", "--",
                                   "chromium"};
  for (const auto& a : dump_dom_args()) argv.push_back(a);
  const Result r = run(argv, options(), 150);
  EXPECT_NE(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out.find("Hello from the sandbox"), std::string::npos) << r.describe();
  EXPECT_NE(r.err.find("No usable sandbox"), std::string::npos) << r.describe();
}

// BUG (see the report of issue 4): default.yaml hides ~/.config/chromium and the chromium
// profile cannot lift it, so for a user who has used Chromium before, `sandbox chromium`
// finds its profile directory empty and read-only and exits ("Failed to create
// .../SingletonLock: Read-only file system").
TEST_F(ChromiumTest, SeesItsOwnProfileDirectoryCopyOnWrite) {
  make_dirs(in_home(".config/chromium/Default"));
  write_file(in_home(".config/chromium/Local State"), "{\"the-users-profile\": 1}\n");
  const Result r = run({paths().launcher, "run", "-p", "chromium", "--net", "none", "--", "/bin/sh",
                        "-c",
                        "cat ~/.config/chromium/'Local State'; "
                        "echo new > ~/.config/chromium/SingletonLock && echo wrote"},
                       options(), 30);
  EXPECT_NE(r.out.find("the-users-profile"), std::string::npos)
      << "the chromium profile does not see the user's ~/.config/chromium\n" << r.describe();
  EXPECT_NE(r.out.find("wrote"), std::string::npos) << r.describe();
  EXPECT_FALSE(exists(in_home(".config/chromium/SingletonLock"))) << "written through to the real home";
}

}  // namespace
}  // namespace sandbox::it
