// Loader: the search path, `extends`, file errors, list(), and the shipped profiles.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "profiles/profile.h"
#include "tests/unit/temp_dir.h"

namespace sandbox::profiles {
namespace {

namespace fs = std::filesystem;

using TempDir = sandbox::test::TempDir;

std::string load_error(const Loader& loader, const std::string& what) {
  try {
    loader.load(what);
  } catch (const ProfileError& e) {
    return e.what();
  }
  return "no error";
}

std::vector<std::string> paths(const std::vector<PathEntry>& entries) {
  std::vector<std::string> out;
  for (const PathEntry& e : entries) out.push_back(e.path);
  return out;
}

class ProfileLoader : public ::testing::Test {
 protected:
  TempDir tmp;
  std::string d1 = tmp.mkdir("user");
  std::string d2 = tmp.mkdir("etc");
  std::string d3 = tmp / "share-missing";  // never created: a missing dir is fine
  Loader loader{{d1, d2, d3}};
  std::string searched = d1 + ", " + d2 + ", " + d3;
};

TEST_F(ProfileLoader, FirstHitOnTheSearchPathWins) {
  tmp.write("user/app.yaml", "version: 1\ndescription: user app\n");
  tmp.write("etc/app.yaml", "version: 1\ndescription: etc app\n");
  tmp.write("etc/other.yaml", "version: 1\ndescription: etc other\n");
  const Profile app = loader.load("app");
  EXPECT_EQ(app.description, "user app");
  EXPECT_EQ(app.name, "app");
  EXPECT_EQ(app.file, d1 + "/app.yaml");
  EXPECT_EQ(app.extends_files, std::vector<std::string>{d1 + "/app.yaml"});
  EXPECT_EQ(loader.load("other").description, "etc other");
  EXPECT_EQ(loader.find("app"), d1 + "/app.yaml");
  EXPECT_EQ(loader.find("other"), d2 + "/other.yaml");
  EXPECT_EQ(loader.find("nope"), std::nullopt);
  EXPECT_EQ(loader.find("../user/app"), std::nullopt);
  EXPECT_EQ(loader.search_dirs(), (std::vector<std::string>{d1, d2, d3}));
}

TEST_F(ProfileLoader, PathsAreLoadedAsGiven) {
  const std::string file = tmp.write("elsewhere/thing.yaml", "version: 1\n");
  EXPECT_EQ(loader.load(file).name, "thing");
  EXPECT_EQ(loader.load(file).file, file);
  // A value with '/' is a path even without ".yaml".
  const std::string bare = tmp.write("elsewhere/noext", "version: 1\nname: bare\n");
  EXPECT_EQ(loader.load(bare).name, "bare");
  EXPECT_EQ(loader.load_file(bare).name, "bare");
}

TEST_F(ProfileLoader, MissingFileUnknownNameAndBadName) {
  const std::string missing = tmp / "nope.yaml";
  EXPECT_EQ(load_error(loader, missing),
            missing + ": cannot read " + missing + ": No such file or directory");
  EXPECT_EQ(load_error(loader, "nothere.yaml"),
            "nothere.yaml: cannot read nothere.yaml: No such file or directory");
  EXPECT_EQ(load_error(loader, "nope"), "nope: no profile named 'nope' (searched: " + searched + ")");
  try {
    loader.load("nope");
    FAIL() << "no error";
  } catch (const ProfileError& e) {
    EXPECT_EQ(e.pos().file, "nope");
    EXPECT_EQ(e.pos().line, 0);
  }
  EXPECT_EQ(load_error(loader, ".."),
            "..: '..' is not a valid profile name (letters, digits, '.', '_' and '-', not "
            "starting with '.')");
  EXPECT_EQ(load_error(loader, ""),
            ": '' is not a valid profile name (letters, digits, '.', '_' and '-', not starting "
            "with '.')");
}

TEST_F(ProfileLoader, DirectoryInsteadOfAFile) {
  const std::string dir = tmp.mkdir("user/dir.yaml");
  EXPECT_EQ(load_error(loader, dir), dir + ": cannot read " + dir + ": Is a directory");
  EXPECT_EQ(load_error(loader, "dir"), dir + ": cannot read " + dir + ": Is a directory");
}

TEST_F(ProfileLoader, UnreadableFile) {
  const std::string file = tmp.write("user/secret.yaml", "version: 1\n");
  ::chmod(file.c_str(), 0);
  if (::access(file.c_str(), R_OK) == 0) GTEST_SKIP() << "running as root: mode 000 is readable";
  EXPECT_EQ(load_error(loader, "secret"), file + ": cannot read " + file + ": Permission denied");
}

TEST_F(ProfileLoader, NotARegularFileOrTooLarge) {
  const std::string fifo = tmp / "user/fifo.yaml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(load_error(loader, "fifo"), fifo + ": cannot read " + fifo + ": not a regular file");
  const std::string big = tmp.write("user/big.yaml", "version: 1\n" + std::string(1 << 20, '#'));
  EXPECT_EQ(load_error(loader, "big"), big + ": cannot read " + big + ": larger than 1 MiB");
}

TEST_F(ProfileLoader, ParseErrorsNameTheFile) {
  const std::string file = tmp.write("user/bad.yaml", "version: 1\nhome:\n  mode: overlays\n");
  EXPECT_EQ(load_error(loader, "bad"),
            file + ":3:9: home.mode: 'overlays' is not one of overlay, ephemeral, tmpfs, bind, ro");
}

TEST_F(ProfileLoader, ExtendsMergesInOrder) {
  tmp.write("etc/a.yaml",
            "version: 1\ndescription: A\nhome: {mode: ro}\nfilesystem: {hide: [/a]}\n"
            "env: {set: {X: a}}\nsecurity: {seccomp: strict}\n");
  tmp.write("etc/b.yaml",
            "version: 1\nhome: {mode: tmpfs}\nfilesystem: {hide: [/b]}\nenv: {set: {X: b}}\n"
            "command: [b]\n");
  tmp.write("user/top.yaml", "version: 1\nextends: [a, b]\nfilesystem: {hide: [/top]}\n");
  const Profile p = loader.load("top");
  EXPECT_EQ(p.name, "top");
  EXPECT_EQ(p.description, "A");  // top and b have none
  EXPECT_EQ(p.file, d1 + "/top.yaml");
  EXPECT_EQ(p.extends_files,
            (std::vector<std::string>{d2 + "/a.yaml", d2 + "/b.yaml", d1 + "/top.yaml"}));
  EXPECT_EQ(paths(p.hide), (std::vector<std::string>{"/a", "/b", "/top"}));
  EXPECT_EQ(p.home_mode, HomeMode::kTmpfs);  // b over a
  EXPECT_EQ(p.seccomp, SeccompPolicy::kStrict);
  EXPECT_EQ(p.command, std::vector<std::string>{"b"});
  ASSERT_EQ(p.env_set.size(), 2u);
  EXPECT_EQ(p.env_set[1].value, "b");
  EXPECT_EQ(p.hide[0].pos.str(), d2 + "/a.yaml:4:21");  // positions stay in their own file
}

TEST_F(ProfileLoader, ExtendsChainAndSingleString) {
  tmp.write("etc/root.yaml", "version: 1\nnetwork: {mode: host}\n");
  tmp.write("etc/mid.yaml", "version: 1\nextends: root\nhome: {mode: bind}\n");
  tmp.write("user/leaf.yaml", "version: 1\nextends: mid\nnetwork: {mode: none}\n");
  const Profile p = loader.load("leaf");
  EXPECT_EQ(p.extends_files, (std::vector<std::string>{d2 + "/root.yaml", d2 + "/mid.yaml",
                                                       d1 + "/leaf.yaml"}));
  EXPECT_EQ(p.network_mode, NetworkMode::kNone);
  EXPECT_EQ(p.home_mode, HomeMode::kBind);
}

TEST_F(ProfileLoader, ExtendsPathsAreRelativeToTheNamingFile) {
  tmp.write("proj/lib/base.yaml", "version: 1\nfilesystem: {ro: [/base]}\n");
  tmp.write("proj/lib/more.yaml", "version: 1\nfilesystem: {ro: [/more]}\n");
  tmp.write("proj/lib/mid.yaml", "version: 1\nextends: ./more.yaml\n");
  const std::string top =
      tmp.write("proj/app.yaml", "version: 1\nextends: [lib/base.yaml, lib/mid.yaml]\n");
  const Profile p = loader.load(top);
  EXPECT_EQ(paths(p.ro), (std::vector<std::string>{"/base", "/more"}));
  EXPECT_EQ(p.extends_files,
            (std::vector<std::string>{tmp / "proj/lib/base.yaml", tmp / "proj/lib/more.yaml",
                                      tmp / "proj/lib/mid.yaml", top}));
}

TEST_F(ProfileLoader, ExtendsCycle) {
  tmp.write("user/a.yaml", "version: 1\nextends: b\n");
  const std::string b = tmp.write("user/b.yaml", "version: 1\nextends: [a]\n");
  EXPECT_EQ(load_error(loader, "a"), b + ":2:11: extends cycle: a.yaml -> b.yaml -> a.yaml");
  const std::string self = tmp.write("user/self.yaml", "version: 1\nextends: self\n");
  EXPECT_EQ(load_error(loader, "self"), self + ":2:10: extends cycle: self.yaml -> self.yaml");
  // By path, through "./" spellings: the same file all the same.
  const std::string p = tmp.write("x/p.yaml", "version: 1\nextends: ./q.yaml\n");
  const std::string q = tmp.write("x/q.yaml", "version: 1\nextends: ../x/./p.yaml\n");
  EXPECT_EQ(load_error(loader, p), q + ":2:10: extends cycle: p.yaml -> q.yaml -> p.yaml");
}

TEST_F(ProfileLoader, ExtendingTheSameNameReachesTheNextOneDown) {
  tmp.write("etc/app.yaml", "version: 1\ndescription: shipped\nfilesystem: {hide: [/shipped]}\n");
  tmp.write("user/app.yaml", "version: 1\nextends: app\nfilesystem: {hide: [/mine]}\n");
  const Profile p = loader.load("app");
  EXPECT_EQ(p.description, "shipped");
  EXPECT_EQ(paths(p.hide), (std::vector<std::string>{"/shipped", "/mine"}));
  EXPECT_EQ(p.extends_files, (std::vector<std::string>{d2 + "/app.yaml", d1 + "/app.yaml"}));
}

TEST_F(ProfileLoader, UnknownOrBadExtends) {
  const std::string c = tmp.write("user/c.yaml", "version: 1\nextends: [zzz]\n");
  EXPECT_EQ(load_error(loader, "c"),
            c + ":2:11: extends: no profile named 'zzz' (searched: " + searched + ")");
  const std::string d = tmp.write("user/d.yaml", "version: 1\nextends: .hidden\n");
  EXPECT_EQ(load_error(loader, "d"),
            d + ":2:10: extends: '.hidden' is not a valid profile name (letters, digits, '.', "
                "'_' and '-', not starting with '.')");
  const std::string e = tmp.write("user/e.yaml", "version: 1\nextends: ./gone.yaml\n");
  EXPECT_EQ(load_error(loader, "e"),
            e + ":2:10: cannot read " + d1 + "/gone.yaml: No such file or directory");
  // An error inside a base is reported where it is.
  const std::string broken = tmp.write("etc/broken.yaml", "version: 1\nhomee: {}\n");
  tmp.write("user/f.yaml", "version: 1\nextends: broken\n");
  EXPECT_EQ(load_error(loader, "f"),
            broken + ":2:1: unknown key 'homee' in the profile; did you mean 'home'?");
}

TEST_F(ProfileLoader, ExtendsDepthCap) {
  // p0 extends p1 extends ... : 16 files load, 17 do not.
  for (int i = 0; i < 17; ++i) {
    const std::string next = i < 16 ? "extends: p" + std::to_string(i + 1) + "\n" : "";
    tmp.write("user/p" + std::to_string(i) + ".yaml",
              "version: 1\n" + next + "filesystem: {ro: [/p" + std::to_string(i) + "]}\n");
  }
  EXPECT_EQ(load_error(loader, "p0"),
            d1 + "/p15.yaml:2:10: extends: more than 16 levels of profiles");
  const Profile p = loader.load("p1");
  EXPECT_EQ(p.extends_files.size(), 16u);
  EXPECT_EQ(p.ro.front().path, "/p16");
  EXPECT_EQ(p.ro.back().path, "/p1");
}

TEST_F(ProfileLoader, List) {
  tmp.write("user/b.yaml", "version: 1\ndescription: user b\n");
  tmp.write("user/bad.yaml", "version: 1\nrww: []\n");
  tmp.write("user/README.md", "not a profile\n");
  tmp.write("user/.hidden.yaml", "version: 1\n");
  tmp.mkdir("user/sub.yaml");
  tmp.write("etc/b.yaml", "version: 1\ndescription: etc b\n");
  tmp.write("etc/a.yaml", "version: 1\ndescription: etc a\n");
  tmp.write("etc/ext.yaml", "version: 1\nextends: b\n");
  const std::vector<ProfileListing> listing = loader.list();
  ASSERT_EQ(listing.size(), 4u);
  EXPECT_EQ(listing[0].name, "a");
  EXPECT_EQ(listing[0].file, d2 + "/a.yaml");
  EXPECT_EQ(listing[0].description, "etc a");
  EXPECT_TRUE(listing[0].shadowed.empty());
  EXPECT_EQ(listing[1].name, "b");
  EXPECT_EQ(listing[1].file, d1 + "/b.yaml");
  EXPECT_EQ(listing[1].description, "user b");
  EXPECT_EQ(listing[1].shadowed, std::vector<std::string>{d2 + "/b.yaml"});
  EXPECT_EQ(listing[2].name, "bad");
  EXPECT_EQ(listing[2].description,
            "(invalid: " + d1 + "/bad.yaml:2:1: unknown key 'rww' in the profile)");
  EXPECT_EQ(listing[3].name, "ext");
  EXPECT_EQ(listing[3].description, "user b");  // through `extends`, found on the search path
}

TEST(ProfileLoaderEmpty, NoDirectories) {
  const Loader loader({});
  EXPECT_TRUE(loader.list().empty());
  EXPECT_EQ(load_error(loader, "x"), "x: no profile named 'x' (searched: no directories)");
}

// Every shipped profile parses, and the three the design names say what they should.
class ShippedProfiles : public ::testing::Test {
 protected:
  Loader loader{{std::string(SANDBOX_SOURCE_DIR) + "/profiles/data"}};
};

TEST_F(ShippedProfiles, AllParse) {
  const std::vector<ProfileListing> listing = loader.list();
  std::set<std::string> names;
  for (const ProfileListing& l : listing) {
    names.insert(l.name);
    EXPECT_NO_THROW(loader.load(l.name)) << l.file;
    EXPECT_EQ(l.description.rfind("(invalid", 0), std::string::npos) << l.description;
    EXPECT_FALSE(l.description.empty()) << l.file;
  }
  EXPECT_TRUE(names.count("default") && names.count("strict") && names.count("shell"));
}

TEST_F(ShippedProfiles, Default) {
  const Profile p = loader.load("default");
  EXPECT_EQ(p.name, "default");
  EXPECT_EQ(p.description,
            "General-purpose sandbox: read-only system, copy-on-write home, no network");
  EXPECT_FALSE(p.command);
  EXPECT_EQ(p.home_mode, HomeMode::kOverlay);
  EXPECT_EQ(p.network_mode, NetworkMode::kNone);
  EXPECT_EQ(p.seccomp, SeccompPolicy::kDefault);
  EXPECT_EQ(p.nested_userns, false);
  EXPECT_EQ(paths(p.hide),
            (std::vector<std::string>{
                "~/.ssh", "~/.gnupg", "~/.aws", "~/.azure", "~/.config/gcloud", "~/.kube",
                "~/.docker", "~/.netrc", "~/.password-store", "~/.local/share/keyrings",
                "~/.pki", "~/.mozilla", "~/.config/mozilla", "~/.config/chromium", "~/.config/google-chrome",
                "~/.git-credentials", "~/.config/gh", "~/.bash_history", "~/.zsh_history",
                "~/.python_history"}));
  EXPECT_EQ(p.env_keep,
            (std::vector<std::string>{"PATH", "LANG", "LANGUAGE", "LC_*", "TERM", "COLORTERM",
                                      "TZ", "EDITOR", "VISUAL", "PAGER", "LESS", "NO_COLOR"}));
  EXPECT_TRUE(p.env_set.empty());
  EXPECT_TRUE(p.rw.empty() && p.ro.empty() && p.tmpfs.empty());
}

TEST_F(ShippedProfiles, Strict) {
  const Profile p = loader.load("strict");
  EXPECT_EQ(p.description, "Locked down: empty throwaway home, no network, strict seccomp");
  EXPECT_EQ(p.home_mode, HomeMode::kTmpfs);
  EXPECT_EQ(p.network_mode, NetworkMode::kNone);
  EXPECT_EQ(p.seccomp, SeccompPolicy::kStrict);
  EXPECT_EQ(p.env_keep, (std::vector<std::string>{"PATH", "LANG", "LC_*", "TERM", "TZ"}));
  EXPECT_FALSE(p.command);
}

TEST_F(ShippedProfiles, Shell) {
  const Profile p = loader.load("shell");
  EXPECT_EQ(p.name, "shell");
  EXPECT_EQ(p.description, "An interactive shell in the default sandbox");
  EXPECT_EQ(p.command, std::vector<std::string>{"bash"});
  ASSERT_EQ(p.env_set.size(), 1u);
  EXPECT_EQ(p.env_set[0].name, "PS1");
  EXPECT_EQ(p.env_set[0].value, "[sandbox \\W]\\$ ");
  // Everything else comes from default.
  EXPECT_EQ(p.extends_files.size(), 2u);
  EXPECT_EQ(p.home_mode, HomeMode::kOverlay);
  EXPECT_EQ(p.network_mode, NetworkMode::kNone);
  EXPECT_EQ(p.hide.size(), 20u);
  EXPECT_EQ(p.env_keep.size(), 12u);
}

}  // namespace
}  // namespace sandbox::profiles
