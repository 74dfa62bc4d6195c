// The filesystem a sandbox sees: the copy-on-write home, hidden secrets, the read-only
// system, a fresh /tmp, the home modes. Asserted on the host's files after the run.
#include <unistd.h>

#include <algorithm>

#include "tests/integration/harness.h"

namespace sandbox::it {
namespace {

class FsTest : public SandboxTest {};

TEST_F(FsTest, OverlayHomeKeepsChangesInTheLayer) {
  write_file(in_home("file"), "original\n");
  write_file(in_home("doomed"), "doomed\n");

  EXPECT_EQ(probe_fields({}, {"write", in_home("file"), "changed"})["result"], "ok");
  EXPECT_EQ(read_file(in_home("file")), "original\n") << "the real file was written through";
  EXPECT_EQ(read_file(layer() + "/upper/file"), "changed");

  EXPECT_EQ(probe_fields({}, {"write", in_home("new"), "fresh"})["result"], "ok");
  EXPECT_FALSE(exists(in_home("new"))) << "a new file reached the real home";
  EXPECT_EQ(read_file(layer() + "/upper/new"), "fresh");

  EXPECT_EQ(probe_fields({}, {"unlink", in_home("doomed")})["result"], "ok");
  EXPECT_EQ(read_file(in_home("doomed")), "doomed\n") << "a deletion reached the real home";

  // The layer persists: the next run of the same app sees all three changes.
  EXPECT_EQ(unescape(probe_fields({}, {"read", in_home("file")})["data"]), "changed");
  EXPECT_EQ(unescape(probe_fields({}, {"read", in_home("new")})["data"]), "fresh");
  EXPECT_EQ(probe_fields({}, {"read", in_home("doomed")})["result"], "ENOENT");
}

TEST_F(FsTest, EachAppHasItsOwnLayer) {
  write_file(in_home("file"), "original");
  EXPECT_EQ(probe_fields({}, {"write", in_home("file"), "by-default"})["result"], "ok");
  EXPECT_EQ(unescape(probe_fields({"--name", "other"}, {"read", in_home("file")})["data"]),
            "original");
  EXPECT_TRUE(exists(layer("other") + "/upper"));
  EXPECT_EQ(read_file(layer() + "/upper/file"), "by-default");
}

TEST_F(FsTest, SecretsAreHidden) {
  make_dirs(in_home(".ssh"), 0700);
  write_file(in_home(".ssh/id_ed25519"), "-----BEGIN OPENSSH PRIVATE KEY-----\n", 0600);

  const Fields read = probe_fields({}, {"read", in_home(".ssh/id_ed25519")});
  EXPECT_NE(read.at("result"), "ok") << "the private key was readable: " << read.at("data");
  const Fields ls = probe_fields({}, {"ls", in_home(".ssh")});
  EXPECT_EQ(ls.at("result"), "ok");
  EXPECT_EQ(ls.at("entries"), "") << "~/.ssh is not empty inside";
  EXPECT_NE(probe_fields({}, {"write", in_home(".ssh/authorized_keys"), "x"})["result"], "ok");
  EXPECT_FALSE(exists(in_home(".ssh/authorized_keys")));
  EXPECT_FALSE(exists(layer() + "/upper/.ssh/authorized_keys"));
}

TEST_F(FsTest, HideMakesAFileAppearEmpty) {
  write_file(in_home("secret.txt"), "s3cr3t");
  // Control: without --hide the file reads as it is.
  EXPECT_EQ(probe_fields({}, {"read", in_home("secret.txt")})["data"], "s3cr3t");
  const Fields f = probe_fields({"--hide", in_home("secret.txt")}, {"read", in_home("secret.txt")});
  EXPECT_EQ(f.at("result"), "ok");
  EXPECT_EQ(f.at("len"), "0");
  EXPECT_EQ(read_file(in_home("secret.txt")), "s3cr3t");
}

TEST_F(FsTest, StateTreeIsInvisible) {
  write_file(in_home("file"), "x");
  EXPECT_EQ(probe_fields({}, {"write", in_home("file"), "in-layer"})["result"], "ok");
  make_dirs(layer("other") + "/upper");
  write_file(layer("other") + "/upper/secret", "other app's data");
  ASSERT_TRUE(exists(layer() + "/upper/file"));

  const Fields ls = probe_fields({}, {"ls", state_dir()});
  EXPECT_EQ(ls.at("entries"), "") << "the state tree is visible inside";
  EXPECT_NE(probe_fields({}, {"read", layer("other") + "/upper/secret"})["result"], "ok");
  EXPECT_NE(probe_fields({}, {"write", state_dir() + "/planted", "x"})["result"], "ok");
  EXPECT_FALSE(exists(state_dir() + "/planted"));
  // --rw cannot reach into it either.
  const Result r = probe({"--rw", layer("other")}, {"ls", layer("other")});
  EXPECT_EQ(r.exit_code, 125) << r.describe();
}

TEST_F(FsTest, SystemIsReadOnly) {
  for (const std::string dir : {"/usr", "/etc"}) {
    const std::string path = dir + "/" + unique_marker("ro");
    EXPECT_EQ(probe_fields({}, {"write", path, "x"})["result"], "EROFS") << path;
    EXPECT_FALSE(exists(path)) << path;
  }
  // Reads work: the system is there.
  EXPECT_EQ(probe_fields({}, {"read", "/etc/passwd"})["result"], "ok");
}

TEST_F(FsTest, TmpIsFreshAndPrivate) {
  const std::string marker = unique_marker("tmp");
  const std::string host_file = "/tmp/" + marker;
  write_file(host_file, "host");
  EXPECT_EQ(probe_fields({}, {"read", host_file})["result"], "ENOENT")
      << "a host file in /tmp is visible inside";
  EXPECT_EQ(probe_fields({}, {"write", "/tmp/inside-" + marker, "x"})["result"], "ok");
  EXPECT_FALSE(exists("/tmp/inside-" + marker)) << "a write to /tmp reached the host";
  unlink(host_file.c_str());
  // Nothing else either, unless the probe itself is bound under /tmp (a build tree there).
  if (paths().probe_dir.rfind("/tmp/", 0) != 0) {
    EXPECT_EQ(probe_fields({}, {"ls", "/tmp"})["entries"], "");
  }
}

// ---- Home modes ----
// These start from a lived-in home (~/.local/share exists); BareHome* start from an empty one.

void lived_in(const std::string& home) { make_dirs(home + "/.local/share"); }

TEST_F(FsTest, BareHomeRunsInEveryHomeMode) {
  for (const std::string mode : {"tmpfs", "ro", "bind", "ephemeral", "overlay"}) {
    remove_tree(in_home(".local"));
    const Result r = probe({"--home", mode}, {"exit", "0"});
    EXPECT_EQ(r.exit_code, 0) << "--home " << mode << "\n" << r.describe();
  }
  remove_tree(in_home(".local"));
  ASSERT_FALSE(exists(in_home(".local")));
  const Result strict = probe({"-p", "strict"}, {"exit", "0"});
  EXPECT_EQ(strict.exit_code, 0) << "-p strict\n" << strict.describe();
}

TEST_F(FsTest, HomeTmpfsShowsNothingAndKeepsNothing) {
  lived_in(home_);
  write_file(in_home("file"), "real");
  EXPECT_EQ(probe_fields({"--home", "tmpfs"}, {"read", in_home("file")})["result"], "ENOENT");
  EXPECT_EQ(probe_fields({"--home", "tmpfs"}, {"write", in_home("new"), "x"})["result"], "ok");
  EXPECT_FALSE(exists(in_home("new")));
  EXPECT_FALSE(exists(layer())) << "a tmpfs home made a layer";
  EXPECT_EQ(probe_fields({"--home", "tmpfs"}, {"read", in_home("new")})["result"], "ENOENT");
}

TEST_F(FsTest, HomeReadOnly) {
  lived_in(home_);
  write_file(in_home("file"), "real");
  EXPECT_EQ(probe_fields({"--home", "ro"}, {"read", in_home("file")})["data"], "real");
  EXPECT_EQ(probe_fields({"--home", "ro"}, {"write", in_home("file"), "x"})["result"], "EROFS");
  EXPECT_EQ(probe_fields({"--home", "ro"}, {"write", in_home("new"), "x"})["result"], "EROFS");
  EXPECT_EQ(read_file(in_home("file")), "real");
  EXPECT_FALSE(exists(in_home("new")));
}

TEST_F(FsTest, HomeBindWritesThrough) {
  lived_in(home_);
  write_file(in_home("file"), "real");
  make_dirs(in_home(".ssh"), 0700);
  write_file(in_home(".ssh/id_ed25519"), "key", 0600);
  EXPECT_EQ(probe_fields({"--home", "bind"}, {"write", in_home("file"), "changed"})["result"], "ok");
  EXPECT_EQ(read_file(in_home("file")), "changed");
  EXPECT_EQ(probe_fields({"--home", "bind"}, {"write", in_home("new"), "new"})["result"], "ok");
  EXPECT_EQ(read_file(in_home("new")), "new");
  // Secrets stay hidden in every mode.
  EXPECT_NE(probe_fields({"--home", "bind"}, {"read", in_home(".ssh/id_ed25519")})["result"], "ok");
}

TEST_F(FsTest, HomeEphemeralForgetsEverything) {
  lived_in(home_);
  write_file(in_home("file"), "real");
  EXPECT_EQ(probe_fields({"--home", "ephemeral"}, {"read", in_home("file")})["data"], "real");
  EXPECT_EQ(probe_fields({"--home", "ephemeral"}, {"write", in_home("file"), "changed"})["result"], "ok");
  EXPECT_EQ(probe_fields({"--home", "ephemeral"}, {"write", in_home("new"), "x"})["result"], "ok");
  EXPECT_EQ(read_file(in_home("file")), "real");
  EXPECT_FALSE(exists(in_home("new")));
  EXPECT_FALSE(exists(layer())) << "an ephemeral home left a layer";
  // The next run starts from the real home again.
  EXPECT_EQ(probe_fields({"--home", "ephemeral"}, {"read", in_home("file")})["data"], "real");
  EXPECT_EQ(probe_fields({"--home", "ephemeral"}, {"read", in_home("new")})["result"], "ENOENT");
}

// ---- --rw and symlinks ----

TEST_F(FsTest, RwWritesLandInTheRealPath) {
  make_dirs(in_home("work"));
  write_file(in_home("notes"), "old");
  EXPECT_EQ(probe_fields({"--rw", in_home("work")}, {"write", in_home("work/out"), "built"})["result"], "ok");
  EXPECT_EQ(read_file(in_home("work/out")), "built");
  EXPECT_FALSE(exists(layer() + "/upper/work/out"));
  // A single file, and a relative path (against the current directory, the home here).
  EXPECT_EQ(probe_fields({"--rw", "notes"}, {"write", in_home("notes"), "new"})["result"], "ok");
  EXPECT_EQ(read_file(in_home("notes")), "new");
  // Outside the home: a directory of the test user's own.
  const std::string outside = outside_dir("rw-outside");
  EXPECT_EQ(probe_fields({"--rw", outside}, {"write", outside + "/f", "x"})["result"], "ok");
  EXPECT_EQ(read_file(outside + "/f"), "x");
}

TEST_F(FsTest, RwOfAMissingPathFailsNamingIt) {
  const std::string missing = in_home("does-not-exist");
  const Result r = probe({"--rw", missing}, {"exit", "0"});
  EXPECT_EQ(r.exit_code, 125) << r.describe();
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.describe();
  EXPECT_FALSE(exists(missing));
}

TEST_F(FsTest, RwThroughASymlinkInsideTheHome) {
  make_dirs(in_home("project"));
  ASSERT_EQ(symlink("project", in_home("link").c_str()), 0);
  EXPECT_EQ(probe_fields({"--rw", in_home("link")}, {"write", in_home("link/x"), "via-link"})["result"], "ok");
  EXPECT_EQ(read_file(in_home("project/x")), "via-link");
  EXPECT_FALSE(exists(layer() + "/upper/project/x"));
}

TEST_F(FsTest, RwThroughASymlinkToSshIsAllowedButKeyStaysHidden) {
  make_dirs(in_home(".ssh"), 0700);
  write_file(in_home(".ssh/id_ed25519"), "key", 0600);
  ASSERT_EQ(symlink(".ssh", in_home("link").c_str()), 0);
  // A symlink that stays inside the home is followed (no refusal)...
  const Result r = probe({"--rw", in_home("link")}, {"read", in_home("link/id_ed25519")});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  auto f = find_line(r.out, "read");
  ASSERT_TRUE(f) << r.describe();
  // ...and the profile's `hide: ~/.ssh`, applied after every rw, still covers the key.
  EXPECT_NE(f->at("result"), "ok") << "the key was read through --rw ~/link";
}

TEST_F(FsTest, RwThroughASymlinkOutOfTheHomeIsRefused) {
  ASSERT_EQ(symlink("/etc", in_home("out").c_str()), 0);
  ASSERT_EQ(symlink("../../../../../../../../etc", in_home("rel-out").c_str()), 0);
  for (const std::string link : {"out", "rel-out"}) {
    const Result r = probe({"--rw", in_home(link)}, {"write", in_home(link + "/it-planted"), "x"});
    EXPECT_EQ(r.exit_code, 125) << link << "\n" << r.describe();
    EXPECT_NE(r.err.find(in_home(link)), std::string::npos) << r.describe();
    EXPECT_FALSE(exists("/etc/it-planted"));
  }
}

TEST_F(FsTest, RwOutsideTheHomeRefusesAnySymlink) {
  const std::string base = outside_dir("nosym");
  make_dirs(base + "/real");
  ASSERT_EQ(symlink(base.c_str(), in_home("alias").c_str()), 0);  // irrelevant to the check
  ASSERT_EQ(symlink("/etc", (base + "/to-etc").c_str()), 0);
  const Result r = probe({"--rw", base + "/to-etc"}, {"exit", "0"});
  EXPECT_EQ(r.exit_code, 125) << r.describe();
  EXPECT_NE(r.err.find(base + "/to-etc"), std::string::npos) << r.describe();
}

TEST_F(FsTest, HideThroughASymlinkOutOfTheHomeHidesWhereItLeads) {
  // A profile hides ~/cfg/passwd where ~/cfg -> /etc. A hide only takes away, so it follows
  // the link (as it would for ~/.gnupg -> /opt/keys): /etc/passwd appears empty inside, and
  // nothing changes on the host.
  ASSERT_EQ(symlink("/etc", in_home("cfg").c_str()), 0);
  const std::string profile = in_home("hide-link.yaml");
  write_file(profile, "version: 1\nextends: default\nfilesystem:\n  hide: [~/cfg/passwd]\n");
  const Result r = probe({"-p", profile}, {"read", "/etc/passwd"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  auto f = find_line(r.out, "read");
  ASSERT_TRUE(f) << r.describe();
  EXPECT_EQ(f->at("result"), "ok");
  EXPECT_EQ(f->at("len"), "0") << "the hide did not reach /etc/passwd through ~/cfg";
  EXPECT_NE(read_file("/etc/passwd").value_or(""), "");
}

// `ln -s ~/project ~/link` makes an absolute symlink; it stays inside the home, so --rw
// follows it just as it follows a relative one (spec.h, SourceScope::kHome).
TEST_F(FsTest, RwThroughAnAbsoluteSymlinkInsideTheHome) {
  make_dirs(in_home("project"));
  ASSERT_EQ(symlink(in_home("project").c_str(), in_home("link").c_str()), 0);
  const Result r = probe({"--rw", in_home("link")}, {"write", in_home("link/x"), "via-link"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(read_file(in_home("project/x")), "via-link");
}

// Dotfiles kept elsewhere in the home and linked in with absolute symlinks: the default
// profile's hide list must still hide them, and must not refuse to run.
TEST_F(FsTest, HiddenPathThatIsAnAbsoluteSymlinkInsideTheHome) {
  make_dirs(in_home("dotfiles/gnupg"), 0700);
  write_file(in_home("dotfiles/gnupg/private-keys"), "secret", 0600);
  ASSERT_EQ(symlink(in_home("dotfiles/gnupg").c_str(), in_home(".gnupg").c_str()), 0);
  const Result r = probe({}, {"read", in_home(".gnupg/private-keys")});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  auto f = find_line(r.out, "read");
  if (f) {
    EXPECT_NE(f->at("result"), "ok") << "the key was readable through ~/.gnupg";
  }
}

TEST_F(FsTest, PlantedSymlinkAtTheStateDirIsRefused) {
  const std::string elsewhere = outside_dir("elsewhere");
  make_dirs(in_home(".local/share"));
  ASSERT_EQ(symlink(elsewhere.c_str(), state_dir().c_str()), 0);
  const Result r = probe({}, {"exit", "0"});
  EXPECT_EQ(r.exit_code, 125) << r.describe();
  EXPECT_NE(r.err.find(state_dir()), std::string::npos) << r.describe();
  EXPECT_FALSE(exists(elsewhere + "/default")) << "the layer was made where the symlink points";
}

TEST_F(FsTest, TmpfsOverCoversAndForgets) {
  make_dirs(in_home("cache"));
  write_file(in_home("cache/old"), "real");
  EXPECT_EQ(probe_fields({"--tmpfs", in_home("cache")}, {"ls", in_home("cache")})["entries"], "");
  EXPECT_EQ(probe_fields({"--tmpfs", in_home("cache")}, {"write", in_home("cache/new"), "x"})["result"], "ok");
  EXPECT_FALSE(exists(in_home("cache/new")));
  EXPECT_FALSE(exists(layer() + "/upper/cache/new"));
  EXPECT_EQ(read_file(in_home("cache/old")), "real");
}

TEST_F(FsTest, RoInsideTheHomeAndInsideRw) {
  make_dirs(in_home("proj/keep"));
  write_file(in_home("proj/keep/f"), "keep");
  EXPECT_EQ(probe_fields({"--ro", in_home("proj")}, {"write", in_home("proj/a"), "x"})["result"], "EROFS");
  // ro nested in rw: the later, inner step wins.
  const std::vector<std::string> opts = {"--rw", in_home("proj"), "--ro", in_home("proj/keep")};
  EXPECT_EQ(probe_fields(opts, {"write", in_home("proj/a"), "x"})["result"], "ok");
  EXPECT_EQ(probe_fields(opts, {"write", in_home("proj/keep/f"), "x"})["result"], "EROFS");
  EXPECT_EQ(read_file(in_home("proj/a")), "x");
  EXPECT_EQ(read_file(in_home("proj/keep/f")), "keep");
}

TEST_F(FsTest, HideOutsideTheHome) {
  const Fields f = probe_fields({"--hide", "/etc/passwd"}, {"read", "/etc/passwd"});
  EXPECT_EQ(f.at("result"), "ok");
  EXPECT_EQ(f.at("len"), "0");
  EXPECT_EQ(probe_fields({"--hide", "/usr/share"}, {"ls", "/usr/share"})["entries"], "");
  EXPECT_EQ(probe_fields({"--hide", "/usr/share"}, {"write", "/usr/share/x", "x"})["result"], "EROFS");
}

TEST_F(FsTest, RuntimeDirIsFreshAndPrivate) {
  const std::string dir = "/run/user/" + std::to_string(getuid());
  const Fields st = probe_fields({}, {"stat", dir});
  EXPECT_EQ(st.at("result"), "ok");
  if (st.at("result") != "ok") return;
  EXPECT_EQ(st.at("type"), "dir");
  EXPECT_EQ(st.at("mode"), "0700");
  EXPECT_EQ(st.at("uid"), std::to_string(getuid()));
  EXPECT_EQ(probe_fields({}, {"ls", dir})["entries"], "");
  EXPECT_EQ(probe_fields({}, {"env", "XDG_RUNTIME_DIR"})["value"], dir);
}

TEST_F(FsTest, DevIsMinimal) {
  const std::vector<std::string> allowed = {"console", "fd",    "full",   "null", "ptmx",
                                            "pts",     "random", "shm",   "stderr", "stdin",
                                            "stdout",  "tty",    "urandom", "zero"};
  const Fields ls = probe_fields({}, {"ls", "/dev"});
  for (const auto& name : split(ls.at("entries"), ','))
    EXPECT_NE(std::find(allowed.begin(), allowed.end(), name), allowed.end()) << "/dev/" << name;
  EXPECT_EQ(probe_fields({}, {"write", "/dev/null", "x"})["result"], "ok");
  EXPECT_EQ(probe_fields({}, {"write", "/dev/full", "x"})["result"], "ENOSPC");
}

}  // namespace
}  // namespace sandbox::it
