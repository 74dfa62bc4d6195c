// diff_layer on hand-made layers: every kind of change, conflicts, refusals, selections, and
// layers that are not layers. The expected output is the exact text of `sandbox diff`.
#include <gtest/gtest.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "overlay/changes.h"
#include "overlay/format.h"
#include "tests/unit/overlay_fixture.h"

namespace sandbox::overlay::testing {
namespace {

class ChangesTest : public LayerTest {};

TEST_F(ChangesTest, EmptyLayerHasNoChanges) {
  SKIP_IF_UNSUPPORTED();
  real_file("a", "x");
  EXPECT_TRUE(changes().empty());
}

TEST_F(ChangesTest, Create) {
  SKIP_IF_UNSUPPORTED();
  up_file("notes.txt", std::string(12, 'n'));
  up_dir("proj/src");
  up_file("proj/src/main.c", std::string(1300, 'c'));
  EXPECT_EQ(diff(),
            "A  notes.txt  (12 B)\n"
            "A  proj/\n"
            "A  proj/src/\n"
            "A  proj/src/main.c  (1.3 KiB)\n");
}

TEST_F(ChangesTest, ModifyContentModeAndMtime) {
  SKIP_IF_UNSUPPORTED();
  real_file("grown", std::string(1229, 'a'));
  real_file("same-size", "abcd");
  real_file("chmodded", "keep", 0644);
  real_file("touched", "keep");
  real_file("both", "aa", 0644);
  up_file("grown", std::string(3072, 'b'));
  up_file("same-size", "abce");
  up_file("chmodded", "keep", 0600);
  same_mtime("chmodded");
  up_file("touched", "keep");
  later_mtime("touched");
  up_file("both", "bbb", 0755);
  EXPECT_EQ(diff(),
            "M  both  (2 B -> 3 B, mode 0644 -> 0755)\n"
            "m  chmodded  (mode 0644 -> 0600)\n"
            "M  grown  (1.2 KiB -> 3 KiB)\n"
            "M  same-size  (4 B -> 4 B)\n"
            "m  touched  (mtime)\n");
}

TEST_F(ChangesTest, CopyUpWithoutChangeIsUnchangedAndHidden) {
  SKIP_IF_UNSUPPORTED();
  real_file("h", "same");
  up_file("h", "same");
  same_mtime("h");
  const auto c = changes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].kind, Change::kUnchanged);
  EXPECT_TRUE(c[0].unchanged_content);
  EXPECT_EQ(diff(), "");
  EXPECT_EQ(format_diff(c, DiffStyle::kStat),
            "total                0  0 B to write, 0 B to delete\n"
            "unchanged            1  (same as the real home; commit drops them)\n");
}

TEST_F(ChangesTest, Delete) {
  SKIP_IF_UNSUPPORTED();
  real_file("old.txt", "old");
  real_dir("olddir/sub");
  real_file("olddir/a", "12345");
  real_file("olddir/sub/b", "67");
  whiteout("old.txt");
  whiteout("olddir");
  whiteout("never-existed");  // e.g. left by an interrupted commit: nothing to do
  EXPECT_EQ(diff(),
            "D  old.txt\n"
            "D  olddir/  (3 entries, 7 B)\n");
  const auto c = changes();
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[1].path, "old.txt");
  EXPECT_EQ(c[0].path, "never-existed");
  EXPECT_EQ(c[0].kind, Change::kUnchanged);
}

TEST_F(ChangesTest, RenameIsDeleteAndAdd) {
  SKIP_IF_UNSUPPORTED();
  real_file("before", "content");
  whiteout("before");
  up_file("after", "content");
  EXPECT_EQ(diff(), "A  after  (7 B)\nD  before\n");
}

TEST_F(ChangesTest, Symlinks) {
  SKIP_IF_UNSUPPORTED();
  real_link("moved", "/old/target");
  real_file("became-link", "data");
  up_link("new-link", "../../etc/passwd");
  up_link("moved", "/new/target");
  up_link("became-link", "elsewhere");
  EXPECT_EQ(diff(),
            "T  became-link  (file -> symlink)\n"
            "M  moved  (target /old/target -> /new/target)\n"
            "A  new-link  (-> ../../etc/passwd)\n");
  const auto c = changes();
  EXPECT_EQ(c[2].link_target, "../../etc/passwd");
}

TEST_F(ChangesTest, HardLinksAreTwoNames) {
  SKIP_IF_UNSUPPORTED();
  real_file("h", "linked");
  up_file("h", "linked");
  same_mtime("h");
  ASSERT_EQ(link(up("h").c_str(), up("h2").c_str()), 0);
  EXPECT_EQ(diff(), "A  h2  (6 B)\n");
}

TEST_F(ChangesTest, DirectoryReplacedByFileAndBack) {
  SKIP_IF_UNSUPPORTED();
  real_dir("was-dir");
  real_file("was-dir/x", "xx");
  real_file("was-file", "ff");
  up_file("was-dir", "now a file");
  up_opaque("was-file");  // overlayfs makes a directory created over a whiteout opaque
  up_file("was-file/inside", "i");
  EXPECT_EQ(diff(),
            "T  was-dir  (dir -> file)\n"
            "T  was-file/  (file -> dir)\n"
            "A  was-file/inside  (1 B)\n");
}

TEST_F(ChangesTest, OpaqueDirectory) {
  SKIP_IF_UNSUPPORTED();
  real_dir("cache/sub");
  real_file("cache/kept-name", "old");
  real_file("cache/dropped", "d");
  real_file("cache/sub/deep", "dd");
  up_opaque("cache");
  up_file("cache/kept-name", "new!");
  up_dir("cache/sub");  // below an opaque dir: also hides the real one
  up_file("cache/sub/fresh", "f");
  EXPECT_EQ(diff(),
            "O  cache/  (replaced: old contents dropped)\n"
            "D  cache/dropped\n"
            "M  cache/kept-name  (3 B -> 4 B)\n"
            "D  cache/sub/deep\n"
            "A  cache/sub/fresh  (1 B)\n");
  for (const auto& c : changes()) {
    if (c.kind == Change::kDeleted) {
      EXPECT_TRUE(c.implicit) << c.path;
    }
  }
}

TEST_F(ChangesTest, UnusualNamesAreQuoted) {
  SKIP_IF_UNSUPPORTED();
  up_file("new\nline", "1");
  up_file("with space", "2");
  up_file("caf\xc3\xa9", "3");
  up_file("bad\xff", "4");
  up_file("tab\there", "5");
  up_file("q\"b\\s", "6");
  EXPECT_EQ(diff(),
            "A  \"bad\\377\"  (1 B)\n"
            "A  \"caf\\303\\251\"  (1 B)\n"
            "A  \"new\\nline\"  (1 B)\n"
            "A  \"q\\\"b\\\\s\"  (1 B)\n"
            "A  \"tab\\there\"  (1 B)\n"
            "A  \"with space\"  (1 B)\n");
  const std::string json = format_json(changes());
  EXPECT_NE(json.find("\"path\": \"bad\\ufffd\", \"path_bytes_hex\": \"626164ff\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"path\": \"caf\xc3\xa9\", \"kind\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"path\": \"new\\nline\""), std::string::npos) << json;
  EXPECT_TRUE(valid_utf8(json));
}

TEST_F(ChangesTest, ConflictWhenTheRealFileChangedAfterCopyUp) {
  SKIP_IF_UNSUPPORTED();
  real_file("edited", "v1");
  real_file("deleted-by-app", "v1");
  real_dir("tree");
  real_file("tree/leaf", "v1");
  up_file("edited", "app's version");
  whiteout("deleted-by-app");
  whiteout("tree");
  up_file("fresh", "app's");
  touch_real_later("edited");
  touch_real_later("deleted-by-app");
  touch_real_later("tree/leaf");
  real_file("fresh", "host's");  // appeared on the host after the app made its own
  EXPECT_EQ(diff(),
            "D! deleted-by-app  [conflict: changed in the real home after the app deleted or replaced it]\n"
            "M! edited  (2 B -> 13 B)  [conflict: changed in the real home after the app made its version]\n"
            "M! fresh  (6 B -> 5 B)  [conflict: the real home got its own entry here after the app made this one]\n"
            "D! tree/  (1 entry, 2 B)  [conflict: ~/tree/leaf changed in the real home after the app deleted or replaced ~/tree]\n");
}

TEST_F(ChangesTest, BelowAReplacedDirectoryTheReplacementTimeCounts) {
  SKIP_IF_UNSUPPORTED();
  real_dir("cache");
  real_file("cache/kept", "old");
  up_opaque("cache");              // the app replaced ~/cache: it sees no real entry from now
  touch_real_later("cache/kept");  // the host changes it
  usleep(20 * 1000);
  up_file("cache/kept", "app's");  // the app writes its own, later
  EXPECT_EQ(diff(),
            "O  cache/  (replaced: old contents dropped)\n"
            "M! cache/kept  (3 B -> 5 B)  [conflict: changed in the real home after the app made "
            "its version]\n");
}

TEST_F(ChangesTest, SameContentIsNoConflict) {
  SKIP_IF_UNSUPPORTED();
  real_file("f", "final");
  up_file("f", "final");
  same_mtime("f");
  touch_real_later("f");  // e.g. commit wrote it, then was killed before dropping it
  ASSERT_EQ(changes().size(), 1u);
  EXPECT_FALSE(changes()[0].conflict);
}

TEST_F(ChangesTest, SymlinkOnTheWayInTheRealHomeIsRefused) {
  SKIP_IF_UNSUPPORTED();
  const std::string outside = base_ + "/outside";
  ASSERT_EQ(mkdir(outside.c_str(), 0755), 0);
  real_link("docs", outside);
  up_dir("docs");  // a plain (merge) directory: made when ~/docs was still a directory
  up_file("docs/new.txt", "hi");
  EXPECT_EQ(diff(),
            "T! docs/  (symlink -> dir)  [refused: ~/docs is a symlink in the real home (to " +
                outside + "); commit does not follow it]\n"
            "A! docs/new.txt  (2 B)  [refused: ~/docs is a symlink in the real home (to " +
                outside + "); commit does not follow it]\n");
}

TEST_F(ChangesTest, TheStateTreeIsNeverTouched) {
  SKIP_IF_UNSUPPORTED();
  up_dir(".local/share/sandbox/other");
  up_file(".local/share/sandbox/other/planted", "x");
  const auto c = changes();
  ASSERT_FALSE(c.empty());
  for (const auto& ch : c) {
    if (ch.path.rfind(".local/share/sandbox", 0) == 0) {
      EXPECT_TRUE(ch.refused) << ch.path;
    }
  }
  remove_all(up(".local"));
  whiteout(".local");
  const auto d = changes();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(d[0].refused);
  EXPECT_NE(d[0].conflict_reason.find("sandbox's own state"), std::string::npos);
}

TEST_F(ChangesTest, FifosAreListedDevicesRefused) {
  SKIP_IF_UNSUPPORTED();
  ASSERT_EQ(mkfifo(up("pipe").c_str(), 0600), 0);
  EXPECT_EQ(diff(), "A  pipe  (fifo)\n");
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make a device node";
  ASSERT_EQ(mknod(up("null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  EXPECT_EQ(diff(),
            "A! null  (char device)  [refused: device nodes and sockets are not committed]\n"
            "A  pipe  (fifo)\n");
}

TEST_F(ChangesTest, OnlyNarrowsToPathsAndSubtrees) {
  SKIP_IF_UNSUPPORTED();
  up_file("a/one", "1");
  up_file("a/two", "2");
  up_file("b/three", "3");
  up_file("ab", "4");
  EXPECT_EQ(diff({"a"}), "A  a/\nA  a/one  (1 B)\nA  a/two  (1 B)\n");
  EXPECT_EQ(diff({"a/two/", "./ab"}), "A  a/two  (1 B)\nA  ab  (1 B)\n");
  EXPECT_EQ(diff({"nothing/here"}), "");
  EXPECT_THROW(diff({"../escape"}), LayerError);
}

TEST_F(ChangesTest, SortedInByteOrder) {
  SKIP_IF_UNSUPPORTED();
  up_file("a/b", "1");
  up_file("a.b", "2");
  up_file("a-b", "3");
  std::vector<std::string> paths;
  for (const auto& c : changes()) paths.push_back(c.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"a", "a-b", "a.b", "a/b"}));
}

TEST_F(ChangesTest, NotALayer) {
  SKIP_IF_UNSUPPORTED();
  remove_all(layer_.upper);
  try {
    changes();
    FAIL() << "no error for a missing upper dir";
  } catch (const LayerError& e) {
    EXPECT_EQ(e.path(), layer_.upper);
    EXPECT_STREQ(e.what(), "not a valid layer: its upper directory is missing");
  }
  ASSERT_EQ(symlink("/etc", layer_.upper.c_str()), 0);
  try {
    changes();
    FAIL() << "a symlinked upper dir was followed";
  } catch (const LayerError& e) {
    EXPECT_STREQ(e.what(), "not a valid layer: upper is not a directory");
  }
}

TEST_F(ChangesTest, RedirectXattrIsAnError) {
  SKIP_IF_UNSUPPORTED();
  up_dir("renamed");
  ASSERT_EQ(setxattr(up("renamed").c_str(), "user.overlay.redirect", "/old", 4, 0), 0);
  try {
    changes();
    FAIL() << "a redirect was not refused";
  } catch (const LayerError& e) {
    EXPECT_EQ(e.path(), up("renamed"));
    EXPECT_NE(std::string(e.what()).find("user.overlay.redirect"), std::string::npos);
  }
}

TEST_F(ChangesTest, LayerOwnedBySomeoneElse) {
  SKIP_IF_UNSUPPORTED();
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give the layer away";
  ASSERT_EQ(chown(layer_.upper.c_str(), 12345, 12345), 0);
  try {
    changes();
    FAIL();
  } catch (const LayerError& e) {
    EXPECT_NE(std::string(e.what()).find("owned by uid 12345"), std::string::npos) << e.what();
  }
}

TEST_F(ChangesTest, FuseOverlayfsOpaqueFormat) {
  SKIP_IF_UNSUPPORTED();
  real_dir("d");
  real_file("d/old", "o");
  up_dir("d");
  ASSERT_EQ(setxattr(up("d").c_str(), "user.fuseoverlayfs.opaque", "y", 1, 0), 0);
  up_file("d/.wh..wh..opq", "", 0700);
  up_file("d/new", "n");
  EXPECT_EQ(diff(),
            "O  d/  (replaced: old contents dropped)\n"
            "A  d/new  (1 B)\n"
            "D  d/old\n");
}

TEST_F(ChangesTest, JsonOfOneChange) {
  SKIP_IF_UNSUPPORTED();
  real_file("f", "ab", 0644);
  up_file("f", "abc", 0600);
  later_mtime("f");
  EXPECT_EQ(format_json(changes()),
            "[\n"
            "  {\"path\": \"f\", \"kind\": \"modified\", \"upper_type\": \"file\", \"lower_type\": "
            "\"file\", \"upper_mode\": \"0600\", \"lower_mode\": \"0644\", \"upper_size\": 3, "
            "\"lower_size\": 2, \"mode_changed\": true, \"mtime_changed\": true, "
            "\"unchanged_content\": false, \"implicit\": false, \"conflict\": false, \"refused\": "
            "false, \"reason\": null, \"time_basis\": \"btime\"}\n"
            "]\n");
}

}  // namespace
}  // namespace sandbox::overlay::testing
