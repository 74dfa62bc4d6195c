// diff, commit and reset on real layers: a real sandbox makes the changes through a real
// overlay mount, and the results are checked on the host, in the real home and in the layer.
// The library is called directly here (this process runs as the test user, like the CLI
// would); LayerCli runs the same through `sandbox diff|commit|reset`.
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "overlay/changes.h"
#include "overlay/commit.h"
#include "overlay/format.h"
#include "overlay/layer.h"
#include "overlay/reset.h"
#include "tests/integration/harness.h"

// tests/integration/CMakeLists.txt links only GTest. Until it also links sandbox_overlay (and
// defines SANDBOX_IT_LINKS_OVERLAY), the library is compiled into this file.
#ifndef SANDBOX_IT_LINKS_OVERLAY
#include "overlay/changes.cc"
#include "overlay/commit.cc"
#include "overlay/commit_steps.cc"
#include "overlay/format.cc"
#include "overlay/layer.cc"
#include "overlay/mode_journal.cc"
#include "overlay/reset.cc"
#include "overlay/tree_io.cc"
#include "overlay/walk.cc"
#endif

namespace sandbox::it {
namespace {

// The app's changes, made inside the sandbox through the overlay.
const char* kScript = R"(set -e
cd "$HOME"
echo new > new.txt
mkdir -p newdir/nested && echo nested > newdir/nested/file
echo v2-longer >> edit.txt
rm gone.txt
mv ren-old ren-new
chmod 755 chmod.sh
ln -s /etc/hostname link
ln h h2
rm -rf dir2file && echo now-file > dir2file
rm file2dir && mkdir file2dir && echo c > file2dir/c
rm -rf cache && mkdir -p cache/sub && echo 'new!' > cache/kept && echo fresh > cache/sub/fresh
echo planted > docs/new.txt
mkdir -p gomod/x && echo module > gomod/x/f && chmod -R a-w gomod
)";

const char* kExpectedDiff =
    "O  cache/  (replaced: old contents dropped)\n"
    "M  cache/kept  (4 B -> 5 B)\n"
    "D  cache/stale\n"
    "D  cache/sub/deep\n"
    "A  cache/sub/fresh  (6 B)\n"
    "m  chmod.sh  (mode 0644 -> 0755)\n"
    "T  dir2file  (dir -> file)\n"
    "A  docs/new.txt  (8 B)\n"
    "M  edit.txt  (3 B -> 13 B)\n"
    "T  file2dir/  (file -> dir)\n"
    "A  file2dir/c  (2 B)\n"
    "A  gomod/\n"
    "A  gomod/x/\n"
    "A  gomod/x/f  (7 B)\n"
    "D  gone.txt\n"
    "A  h2  (5 B)\n"
    "A  link  (-> /etc/hostname)\n"
    "A  new.txt  (4 B)\n"
    "A  newdir/\n"
    "A  newdir/nested/\n"
    "A  newdir/nested/file  (7 B)\n"
    "A  ren-new  (7 B)\n"
    "D  ren-old\n";

// The real home after committing all of it (types, modes, contents, link targets).
const char* kExpectedHome =
    "cache: d 0755\n"
    "cache/kept: f 0644 new!\n\n"
    "cache/sub: d 0755\n"
    "cache/sub/fresh: f 0644 fresh\n\n"
    "chmod.sh: f 0755 #!/bin/sh\n\n"
    "dir2file: f 0644 now-file\n\n"
    "docs: d 0755\n"
    "docs/new.txt: f 0644 planted\n\n"
    "docs/readme: f 0644 r\n\n"
    "edit.txt: f 0644 v1\nv2-longer\n\n"
    "file2dir: d 0755\n"
    "file2dir/c: f 0644 c\n\n"
    "gomod: d 0555\n"
    "gomod/x: d 0555\n"
    "gomod/x/f: f 0444 module\n\n"
    "h: f 0644 hard\n\n"
    "h2: f 0644 hard\n\n"
    "keep.txt: f 0644 keep\n\n"
    "link: l /etc/hostname\n"
    "new.txt: f 0644 new\n\n"
    "newdir: d 0755\n"
    "newdir/nested: d 0755\n"
    "newdir/nested/file: f 0644 nested\n\n"
    "ren-new: f 0644 moving\n\n";

// "path: type mode content" for every entry below root, in path order; mtimes left out.
std::string tree_of(const std::string& root, const std::vector<std::string>& skip = {}) {
  std::map<std::string, std::string> lines;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(
           root, std::filesystem::directory_options::skip_permission_denied, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    const std::string rel = it->path().string().substr(root.size() + 1);
    if (std::find(skip.begin(), skip.end(), rel) != skip.end()) {
      it.disable_recursion_pending();
      continue;
    }
    struct stat st;
    if (lstat(it->path().c_str(), &st) != 0) continue;
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
    std::string line;
    if (S_ISDIR(st.st_mode)) {
      line = std::string("d ") + mode;
    } else if (S_ISLNK(st.st_mode)) {
      line = "l " + std::filesystem::read_symlink(it->path(), ec).string();
    } else if (S_ISREG(st.st_mode)) {
      if (!(st.st_mode & 0400)) chmod(it->path().c_str(), st.st_mode | 0400);
      line = std::string("f ") + mode + " " + read_file(it->path().string()).value_or("?");
      if (!(st.st_mode & 0400)) chmod(it->path().c_str(), st.st_mode & 07777);
    } else {
      line = "other";
    }
    lines[rel] = line;
  }
  std::string out;
  for (const auto& [k, v] : lines) out += k + ": " + v + "\n";
  return out;
}

class LayerTest : public SandboxTest {
 protected:
  overlay::LayerPaths layer_paths() const {
    return overlay::layer_paths(state_dir(), "default");
  }

  void make_real_home() {
    write_file(in_home("keep.txt"), "keep\n");
    write_file(in_home("edit.txt"), "v1\n");
    write_file(in_home("chmod.sh"), "#!/bin/sh\n", 0644);
    write_file(in_home("gone.txt"), "bye\n");
    write_file(in_home("ren-old"), "moving\n");
    write_file(in_home("h"), "hard\n");
    make_dirs(in_home("dir2file"));
    write_file(in_home("dir2file/x"), "x\n");
    write_file(in_home("file2dir"), "ff\n");
    make_dirs(in_home("cache/sub"));
    write_file(in_home("cache/stale"), "s\n");
    write_file(in_home("cache/kept"), "old\n");
    write_file(in_home("cache/sub/deep"), "d\n");
    make_dirs(in_home("docs"));
    write_file(in_home("docs/readme"), "r\n");
  }

  // Runs the app's script in a real sandbox (the default app, so the layer is "default").
  void run_app(const std::string& script) {
    const Result r = sandbox({"run", "--", "/bin/sh", "-c", "umask 022; " + script});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
  }

  std::string real_tree() { return tree_of(home_, {".local"}); }
  std::string upper_tree() { return tree_of(layer_paths().upper); }

  std::string diff(const std::vector<std::string>& only = {}) {
    return overlay::format_diff(overlay::diff_layer(layer_paths().upper, home_, only),
                                overlay::DiffStyle::kPlain);
  }
  overlay::CommitReport commit(overlay::CommitOptions o = {}) {
    return overlay::commit_layer(layer_paths(), home_, getuid(), o);
  }

  // A fresh home with the real files and the app's changes in its layer.
  void rebuild() {
    remove_tree(home_);
    ASSERT_EQ(mkdir(home_.c_str(), 0700), 0);
    make_real_home();
    run_app(kScript);
  }
};

TEST_F(LayerTest, DiffOfARealLayerIsExact) {
  make_real_home();
  run_app(kScript);
  EXPECT_EQ(diff(), kExpectedDiff);
  EXPECT_EQ(diff({"cache"}),
            "O  cache/  (replaced: old contents dropped)\n"
            "M  cache/kept  (4 B -> 5 B)\n"
            "D  cache/stale\n"
            "D  cache/sub/deep\n"
            "A  cache/sub/fresh  (6 B)\n");
  // The copy-up made by `ln h h2` is in the layer, the same as the real file.
  const auto all = overlay::diff_layer(layer_paths().upper, home_, {});
  const auto h = std::find_if(all.begin(), all.end(), [](const overlay::Change& c) { return c.path == "h"; });
  ASSERT_NE(h, all.end());
  EXPECT_EQ(h->kind, overlay::Change::kUnchanged);
}

TEST_F(LayerTest, CommitMakesTheRealHomeWhatTheAppSaw) {
  make_real_home();
  run_app(kScript);
  const overlay::CommitReport r = commit();
  EXPECT_FALSE(r.refused_for_conflicts) << overlay::format_diff(r.skipped_conflicts, overlay::DiffStyle::kPlain);
  EXPECT_EQ(real_tree(), kExpectedHome);
  EXPECT_EQ(upper_tree(), "") << "the layer still holds entries";
  // The next run sees the same home, now from the real files, and its layer starts empty.
  run_app("test \"$(cat ~/cache/kept)\" = 'new!' && test ! -e ~/gone.txt && test -L ~/link");
  EXPECT_EQ(diff(), "");
}

TEST_F(LayerTest, PartialCommitAndReset) {
  make_real_home();
  run_app(kScript);
  overlay::CommitOptions only;
  only.only = {"newdir/nested/file", "edit.txt"};
  commit(only);
  EXPECT_EQ(read_file(in_home("newdir/nested/file")), "nested\n");
  EXPECT_EQ(read_file(in_home("edit.txt")), "v1\nv2-longer\n");
  EXPECT_FALSE(exists(in_home("new.txt")));
  const std::string rest = diff();
  EXPECT_EQ(rest.find("edit.txt"), std::string::npos) << rest;
  EXPECT_EQ(rest.find("newdir"), std::string::npos) << rest;
  EXPECT_NE(rest.find("A  new.txt  (4 B)"), std::string::npos) << rest;

  overlay::reset_layer(layer_paths(), {"cache", "new.txt"});
  const std::string after = diff();
  EXPECT_EQ(after.find("cache"), std::string::npos) << after;
  EXPECT_EQ(after.find("A  new.txt"), std::string::npos) << after;
  run_app("test \"$(cat ~/cache/kept)\" = old && test ! -e ~/new.txt && test -e ~/link");

  overlay::reset_layer(layer_paths(), {});
  EXPECT_EQ(diff(), "");
  run_app("test ! -e ~/link && test -e ~/gone.txt");
}

TEST_F(LayerTest, ConflictsWithTheHost) {
  write_file(in_home("notes"), "v1\n");
  run_app("echo app >> ~/notes");
  usleep(20 * 1000);
  write_file(in_home("notes"), "host edit\n");  // the host changes it afterwards
  EXPECT_EQ(diff(),
            "M! notes  (10 B -> 7 B)  [conflict: changed in the real home after the app made "
            "its version]\n");
  const overlay::CommitReport r = commit();
  EXPECT_TRUE(r.refused_for_conflicts);
  EXPECT_EQ(read_file(in_home("notes")), "host edit\n");
  overlay::CommitOptions force;
  force.force = true;
  commit(force);
  EXPECT_EQ(read_file(in_home("notes")), "v1\napp\n");
  EXPECT_EQ(upper_tree(), "");
}

TEST_F(LayerTest, ASymlinkPlantedInTheRealHomeIsNotFollowed) {
  make_dirs(in_home("docs"));
  run_app("echo planted > ~/docs/new.txt");
  // Meanwhile ~/docs becomes a symlink to somewhere else.
  const std::string elsewhere = home_ + "-elsewhere";
  make_dirs(elsewhere);
  remove_tree(in_home("docs"));
  ASSERT_EQ(symlink(elsewhere.c_str(), in_home("docs").c_str()), 0);
  EXPECT_NE(diff().find("A! docs/new.txt  (8 B)  [refused: ~/docs is a symlink in the real home"),
            std::string::npos)
      << diff();
  EXPECT_TRUE(commit().refused_for_conflicts);
  overlay::CommitOptions force;
  force.force = true;
  const overlay::CommitReport r = commit(force);
  EXPECT_EQ(r.refused.size(), 2u);
  EXPECT_FALSE(exists(elsewhere + "/new.txt")) << "commit wrote through the symlink";
  remove_tree(elsewhere);
}

// A commit killed (SIGKILL) right before its N-th filesystem change, then a plain commit,
// leaves the same home as an uninterrupted commit, and an empty layer: for every N.
TEST_F(LayerTest, CommitKilledAnywhereIsFinishedByTheNextOne) {
  make_real_home();
  run_app(kScript);
  const overlay::CommitReport whole = commit();
  ASSERT_EQ(real_tree(), kExpectedHome);
  ASSERT_GT(whole.mutations, 20u);
  for (size_t n = 1; n <= whole.mutations; ++n) {
    SCOPED_TRACE("killed before change " + std::to_string(n) + " of " + std::to_string(whole.mutations));
    rebuild();
    if (HasFatalFailure()) return;
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      setenv("SANDBOX_FAULT_COMMIT", std::to_string(n).c_str(), 1);
      try {
        commit();
      } catch (...) {
        _exit(2);
      }
      _exit(3);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
    const overlay::CommitReport rerun = commit();
    EXPECT_FALSE(rerun.refused_for_conflicts)
        << overlay::format_diff(rerun.skipped_conflicts, overlay::DiffStyle::kPlain);
    EXPECT_EQ(real_tree(), kExpectedHome);
    EXPECT_EQ(upper_tree(), "");
    if (HasFailure()) return;
  }
}

// The same through the command line, once the lead has wired the verbs into it.
class LayerCli : public LayerTest {
 protected:
  void SetUp() override {
    LayerTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    const Result probe = sandbox({"diff", "x"});
    if (probe.exit_code != 0 && probe.err.find("not implemented yet") != std::string::npos)
      GTEST_SKIP() << "diff/commit/reset not wired into the CLI yet";
  }
};

TEST_F(LayerCli, DiffCommitReset) {
  EXPECT_EQ(sandbox({"diff", "default"}).out, "no changes\n");
  make_real_home();
  run_app(kScript);
  Result d = sandbox({"diff", "default"});
  EXPECT_EQ(d.exit_code, 0) << d.describe();
  EXPECT_EQ(d.out, kExpectedDiff);
  d = sandbox({"diff", "default", in_home("cache"), "~/gone.txt"});
  EXPECT_EQ(d.out,
            "O  cache/  (replaced: old contents dropped)\n"
            "M  cache/kept  (4 B -> 5 B)\n"
            "D  cache/stale\n"
            "D  cache/sub/deep\n"
            "A  cache/sub/fresh  (6 B)\n"
            "D  gone.txt\n")
      << d.describe();
  d = sandbox({"diff", "--stat", "default"});
  EXPECT_NE(d.out.find("total               23"), std::string::npos) << d.describe();
  d = sandbox({"diff", "--json", "default"});
  EXPECT_EQ(d.out.rfind("[\n  {\"path\": \"cache\", \"kind\": \"opaque\"", 0), 0u) << d.describe();
  EXPECT_EQ(sandbox({"diff", "default", "/etc"}).exit_code, 125);

  Result c = sandbox({"commit", "--dry-run", "default"});
  EXPECT_EQ(c.exit_code, 0) << c.describe();
  EXPECT_EQ(c.out.rfind("Would commit 23 changes of default", 0), 0u) << c.describe();
  EXPECT_FALSE(exists(in_home("new.txt")));

  c = sandbox({"commit", "default", "new.txt"});
  EXPECT_EQ(c.exit_code, 0) << c.describe();
  EXPECT_EQ(read_file(in_home("new.txt")), "new\n");

  Result r = sandbox({"reset", "default", "cache"});
  EXPECT_EQ(r.exit_code, 125) << r.describe();
  EXPECT_NE(r.err.find("pass -y"), std::string::npos) << r.describe();
  r = sandbox({"reset", "-y", "default", "cache"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();

  c = sandbox({"commit", "default"});
  EXPECT_EQ(c.exit_code, 0) << c.describe();
  EXPECT_EQ(read_file(in_home("cache/kept")), "old\n") << "the reset part was committed";
  EXPECT_EQ(read_file(in_home("ren-new")), "moving\n");
  EXPECT_EQ(sandbox({"diff", "default"}).out, "no changes\n");
  EXPECT_EQ(sandbox({"reset", "-y", "default"}).exit_code, 0);
}

TEST_F(LayerCli, CommitRefusesConflictsAndARunningApp) {
  write_file(in_home("notes"), "v1\n");
  run_app("echo app >> ~/notes");
  usleep(20 * 1000);
  write_file(in_home("notes"), "host edit\n");
  Result c = sandbox({"commit", "default"});
  EXPECT_EQ(c.exit_code, 1) << c.describe();
  EXPECT_NE(c.err.find("--force"), std::string::npos) << c.describe();
  EXPECT_EQ(read_file(in_home("notes")), "host edit\n");

  const std::string marker = unique_marker("layer-running");
  Process app({paths().launcher, "run", "--", "/bin/sh", "-c", "echo " + marker + "; sleep 30"},
              options());
  ASSERT_TRUE(app.wait_for_stdout(marker, 10000)) << app.out_so_far();
  c = sandbox({"commit", "--force", "default"});
  EXPECT_EQ(c.exit_code, 125) << c.describe();
  EXPECT_NE(c.err.find("running"), std::string::npos) << c.describe();
  Result r = sandbox({"reset", "-y", "default"});
  EXPECT_EQ(r.exit_code, 125) << r.describe();
  kill(app.pid(), SIGTERM);
  app.wait(10);

  c = sandbox({"commit", "--force", "default"});
  EXPECT_EQ(c.exit_code, 0) << c.describe();
  EXPECT_EQ(read_file(in_home("notes")), "v1\napp\n");
}

}  // namespace
}  // namespace sandbox::it
