// commit_layer on hand-made layers: the real home ends up equal to the expected tree, what was
// applied leaves the layer, conflicts and refusals hold, and a commit killed before any one of
// its filesystem changes is finished by the next one with the same result.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "overlay/commit.h"
#include "overlay/mode_journal.h"
#include "tests/unit/overlay_fixture.h"

namespace sandbox::overlay::testing {
namespace {

constexpr time_t kRealTime = 1700000000;   // mtimes of the real entries
constexpr time_t kLayerTime = 1700000600;  // mtimes of the layer's entries

void set_mtime(const std::string& path, time_t t) {
  const timespec times[2] = {{t, 0}, {t, 0}};
  check(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0, "utimensat " + path);
}

// Sets the mtime of every non-directory below root.
void set_all_mtimes(const std::string& root, time_t t, const std::vector<std::string>& skip = {}) {
  std::vector<std::string> stack = {root};
  while (!stack.empty()) {
    const std::string dir = stack.back();
    stack.pop_back();
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      const std::string p = e.path().string();
      if (std::find(skip.begin(), skip.end(), p) != skip.end()) continue;
      if (e.is_symlink() || !e.is_directory()) set_mtime(p, t);
      else stack.push_back(p);
    }
  }
}

class CommitTest : public LayerTest {
 protected:
  CommitReport commit(CommitOptions o = {}) { return commit_layer(layer_, home_, geteuid(), o); }

  // A layer with every kind of change, with fixed mtimes so that two builds give equal trees.
  void build_scenario() {
    real_file("keep.txt", "untouched");
    real_file("edit.txt", "v1");
    real_file("chmod.sh", "#!/bin/sh\n", 0644);
    real_file("gone.txt", "bye");
    real_dir("gonedir/sub");
    real_file("gonedir/a", "a");
    real_file("gonedir/sub/b", "b");
    real_file("renamed-from", "moving");
    real_link("link", "old-target");
    real_file("file-to-link", "f");
    real_dir("dir-to-file");
    real_file("dir-to-file/x", "x");
    real_file("file-to-dir", "ff");
    real_dir("cache/sub");
    real_file("cache/stale", "s");
    real_file("cache/kept", "old");
    real_file("cache/sub/deep", "d");
    real_dir("merged");
    real_file("merged/existing", "e");
    real_file("h", "hard");
    real_dir("perm", 0755);
    real_dir("ro", 0555);
    set_all_mtimes(home_, kRealTime, {home_ + "/.local"});

    up_file("edit.txt", "v2, longer");
    up_file("chmod.sh", "#!/bin/sh\n", 0755);
    whiteout("gone.txt");
    whiteout("gonedir");
    whiteout("renamed-from");
    up_file("renamed-to", "moving");
    up_link("link", "new-target");
    up_link("file-to-link", "somewhere");
    up_file("dir-to-file", "now a file");
    up_opaque("file-to-dir");
    up_file("file-to-dir/c", "c");
    up_opaque("cache");
    up_file("cache/kept", "new!");
    up_dir("cache/sub");
    up_file("cache/sub/fresh", "fresh");
    up_dir("merged");
    up_file("merged/added", "a");
    up_file("h", "hard");
    check(link(up("h").c_str(), up("h2").c_str()) == 0, "link");
    up_dir("newdir/nested", 0755);
    up_file("newdir/nested/file", "nested");
    check(chmod(up("newdir").c_str(), 0750) == 0, "chmod");
    up_file("gomod/x/f", "module", 0444);
    check(chmod(up("gomod/x").c_str(), 0555) == 0 && chmod(up("gomod").c_str(), 0555) == 0, "chmod");
    check(mkfifo(up("fifo").c_str(), 0640) == 0, "mkfifo");
    up_file("sp ace", "1");
    up_file("nl\nx", "2");
    up_file("bad\xff", "3");
    up_dir("perm", 0700);
    up_dir("ro", 0755);  // the app made it writable, and wrote into it
    up_file("ro/inside", "i");
    set_all_mtimes(layer_.upper, kLayerTime);
    set_mtime(up("chmod.sh"), kRealTime);  // a chmod keeps the mtime
    set_mtime(up("h"), kRealTime);         // copied up by the link, unchanged
  }

  void rebuild() {
    remove_all(home_);
    ASSERT_EQ(mkdir(home_.c_str(), 0755), 0);
    ensure_layer(layer_, geteuid());
    const std::string ww = layer_.work + "/work";
    mkdir(ww.c_str(), 0000);
    build_scenario();
  }

  bool journal_exists() const { return access((layer_.root + "/" + kModeJournalName).c_str(), F_OK) == 0; }
};

const char* kExpectedHome =
    "bad\xff: f 0644 mtime=1700000600.0 3\n"
    "cache: d 0755\n"
    "cache/kept: f 0644 mtime=1700000600.0 new!\n"
    "cache/sub: d 0755\n"
    "cache/sub/fresh: f 0644 mtime=1700000600.0 fresh\n"
    "chmod.sh: f 0755 mtime=1700000000.0 #!/bin/sh\n\n"
    "dir-to-file: f 0644 mtime=1700000600.0 now a file\n"
    "edit.txt: f 0644 mtime=1700000600.0 v2, longer\n"
    "fifo: p 0640\n"
    "file-to-dir: d 0755\n"
    "file-to-dir/c: f 0644 mtime=1700000600.0 c\n"
    "file-to-link: l -> somewhere\n"
    "gomod: d 0555\n"
    "gomod/x: d 0555\n"
    "gomod/x/f: f 0444 mtime=1700000600.0 module\n"
    "h: f 0644 mtime=1700000000.0 hard\n"
    "h2: f 0644 mtime=1700000000.0 hard\n"
    "keep.txt: f 0644 mtime=1700000000.0 untouched\n"
    "link: l -> new-target\n"
    "merged: d 0755\n"
    "merged/added: f 0644 mtime=1700000600.0 a\n"
    "merged/existing: f 0644 mtime=1700000000.0 e\n"
    "newdir: d 0750\n"
    "newdir/nested: d 0755\n"
    "newdir/nested/file: f 0644 mtime=1700000600.0 nested\n"
    "nl\nx: f 0644 mtime=1700000600.0 2\n"
    "perm: d 0700\n"
    "renamed-to: f 0644 mtime=1700000600.0 moving\n"
    "ro: d 0755\n"
    "ro/inside: f 0644 mtime=1700000600.0 i\n"
    "sp ace: f 0644 mtime=1700000600.0 1\n";

TEST_F(CommitTest, CommitMakesTheRealHomeEqualToTheExpectedTree) {
  SKIP_IF_UNSUPPORTED();
  build_scenario();
  const CommitReport r = commit();
  EXPECT_FALSE(r.refused_for_conflicts);
  EXPECT_TRUE(r.skipped_conflicts.empty());
  EXPECT_TRUE(r.refused.empty());
  ASSERT_EQ(r.unchanged.size(), 1u);
  EXPECT_EQ(r.unchanged[0].path, "h");
  EXPECT_EQ(real_tree(), kExpectedHome);
  EXPECT_EQ(upper_tree(), "") << "the layer still holds entries";
  EXPECT_FALSE(journal_exists());
  EXPECT_TRUE(changes().empty());
  EXPECT_GT(r.mutations, 0u);
}

TEST_F(CommitTest, PartialCommitLeavesTheRestInTheLayer) {
  SKIP_IF_UNSUPPORTED();
  real_file("a", "1");
  up_file("a", "one");
  up_file("b", "two");
  up_file("newdir/x", "x");
  up_file("newdir/y", "y");
  CommitOptions o;
  o.only = {"a", "newdir/x"};
  const CommitReport r = commit(o);
  std::vector<std::string> applied;
  for (const auto& c : r.applied) applied.push_back(c.path);
  EXPECT_EQ(applied, (std::vector<std::string>{"a", "newdir", "newdir/x"}));
  EXPECT_EQ(format_diff(changes(), DiffStyle::kPlain), "A  b  (3 B)\nA  newdir/y  (1 B)\n");
  std::ifstream in(home_ + "/a");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "one");
  EXPECT_EQ(access((home_ + "/b").c_str(), F_OK), -1);
  EXPECT_EQ(access((home_ + "/newdir/x").c_str(), F_OK), 0);
  EXPECT_EQ(access((home_ + "/newdir/y").c_str(), F_OK), -1);
  // And the rest lands later.
  commit();
  EXPECT_EQ(upper_tree(), "");
  EXPECT_EQ(access((home_ + "/newdir/y").c_str(), F_OK), 0);
}

TEST_F(CommitTest, ConflictsRefuseEverythingUnlessForced) {
  SKIP_IF_UNSUPPORTED();
  real_file("edited", "v1");
  up_file("edited", "app");
  up_file("other", "fine");
  touch_real_later("edited");
  const std::string home_before = real_tree(), layer_before = upper_tree();
  const CommitReport r = commit();
  EXPECT_TRUE(r.refused_for_conflicts);
  ASSERT_EQ(r.skipped_conflicts.size(), 1u);
  EXPECT_EQ(r.skipped_conflicts[0].path, "edited");
  EXPECT_TRUE(r.applied.empty());
  EXPECT_EQ(r.mutations, 0u);
  EXPECT_EQ(real_tree(), home_before);
  EXPECT_EQ(upper_tree(), layer_before);

  CommitOptions force;
  force.force = true;
  const CommitReport f = commit(force);
  EXPECT_FALSE(f.refused_for_conflicts);
  EXPECT_EQ(f.applied.size(), 2u);
  EXPECT_EQ(upper_tree(), "");
  std::ifstream in(home_ + "/edited");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "app");
}

TEST_F(CommitTest, DryRunChangesNothing) {
  SKIP_IF_UNSUPPORTED();
  build_scenario();
  const std::string home_before = real_tree(), layer_before = upper_tree();
  CommitOptions o;
  o.dry_run = true;
  const CommitReport r = commit(o);
  EXPECT_FALSE(r.refused_for_conflicts);
  EXPECT_EQ(r.applied.size(), changes().size() - 1);  // all but the unchanged "h"
  EXPECT_EQ(r.mutations, 0u);
  EXPECT_EQ(real_tree(), home_before);
  EXPECT_EQ(upper_tree(), layer_before);
}

TEST_F(CommitTest, SymlinkInTheRealHomeIsNotFollowed) {
  SKIP_IF_UNSUPPORTED();
  const std::string outside = base_ + "/outside";
  ASSERT_EQ(mkdir(outside.c_str(), 0755), 0);
  real_link("docs", outside);
  up_dir("docs");
  up_file("docs/new.txt", "planted");
  up_file("fine", "ok");
  const CommitReport r = commit();
  EXPECT_TRUE(r.refused_for_conflicts) << "a refused entry must stop the commit without --force";
  EXPECT_EQ(r.refused.size(), 2u);
  EXPECT_EQ(access((home_ + "/fine").c_str(), F_OK), -1);

  CommitOptions force;
  force.force = true;
  const CommitReport f = commit(force);
  EXPECT_FALSE(f.refused_for_conflicts);
  ASSERT_EQ(f.applied.size(), 1u);
  EXPECT_EQ(f.applied[0].path, "fine");
  EXPECT_EQ(f.refused.size(), 2u);
  EXPECT_EQ(snapshot(outside), "") << "commit wrote through the symlink";
  EXPECT_EQ(access(up("docs/new.txt").c_str(), F_OK), 0) << "the refused entry left the layer";
  char target[256] = {};
  ASSERT_GT(readlink((home_ + "/docs").c_str(), target, sizeof(target) - 1), 0);
  EXPECT_EQ(std::string(target), outside);
}

TEST_F(CommitTest, SymlinkPlantedInTheLayerIsCommittedAsASymlink) {
  SKIP_IF_UNSUPPORTED();
  const std::string outside = base_ + "/outside";
  ASSERT_EQ(mkdir(outside.c_str(), 0755), 0);
  up_link("escape", outside);
  up_file("escape2", "x");
  commit();
  struct stat st;
  ASSERT_EQ(lstat((home_ + "/escape").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(snapshot(outside), "");
}

TEST_F(CommitTest, ReadOnlyRealDirectoryGetsItsModeBack) {
  SKIP_IF_UNSUPPORTED();
  real_dir("locked", 0555);
  up_file("locked/new", "n");
  up_dir("locked", 0555);  // the directory leads to a change but has none of its own
  commit();
  EXPECT_EQ(real_tree().find("locked: d 0555\n") != std::string::npos, true) << real_tree();
  EXPECT_EQ(upper_tree(), "");
}

// The fault injection: for every N, a commit killed right before its N-th filesystem change,
// then a plain commit, gives the same home as one uninterrupted commit, and an empty layer.
TEST_F(CommitTest, KilledAtAnyPointARerunFinishesTheJob) {
  SKIP_IF_UNSUPPORTED();
  build_scenario();
  const CommitReport whole = commit();
  const std::string expected = real_tree();
  ASSERT_EQ(expected, kExpectedHome);
  ASSERT_GT(whole.mutations, 20u);
  for (size_t n = 1; n <= whole.mutations; ++n) {
    SCOPED_TRACE("killed before mutation " + std::to_string(n) + " of " + std::to_string(whole.mutations));
    rebuild();
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
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the commit was not killed (status " << status << ")";
    const CommitReport rerun = commit();
    EXPECT_FALSE(rerun.refused_for_conflicts)
        << "the rerun saw conflicts:\n"
        << format_diff(rerun.skipped_conflicts, DiffStyle::kPlain)
        << format_diff(rerun.refused, DiffStyle::kPlain);
    EXPECT_EQ(real_tree(), expected);
    EXPECT_EQ(upper_tree(), "");
    EXPECT_FALSE(journal_exists());
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace sandbox::overlay::testing
