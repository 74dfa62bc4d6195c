// reset_layer: the whole layer, or parts of it, and what it says about paths it cannot drop.
#include <gtest/gtest.h>
#include <unistd.h>

#include "overlay/mode_journal.h"
#include "overlay/reset.h"
#include "tests/unit/overlay_fixture.h"

namespace sandbox::overlay::testing {
namespace {

class ResetTest : public LayerTest {};

TEST_F(ResetTest, ResetAllEmptiesUpperAndWork) {
  SKIP_IF_UNSUPPORTED();
  real_file("gone", "g");
  up_file("a/b/c", "1");
  whiteout("gone");
  up_file("ro/f", "x", 0444);
  ASSERT_EQ(chmod(up("ro").c_str(), 0555), 0);
  write_at(layer_.root + "/" + kModeJournalName, "1 2 3 755\n", 0600);
  const std::string real_before = real_tree();

  const ResetReport dry = reset_layer(layer_, {}, true);
  EXPECT_EQ(dry.dropped, (std::vector<std::string>{"a", "gone", "ro"}));
  EXPECT_NE(upper_tree(), "");

  const ResetReport r = reset_layer(layer_, {});
  EXPECT_EQ(r.dropped, dry.dropped);
  EXPECT_EQ(upper_tree(), "");
  EXPECT_EQ(snapshot(layer_.work), "");
  EXPECT_EQ(access((layer_.root + "/" + kModeJournalName).c_str(), F_OK), -1);
  EXPECT_EQ(real_tree(), real_before);
  EXPECT_TRUE(changes().empty());
  // The layer is still usable.
  ensure_layer(layer_, geteuid());
}

TEST_F(ResetTest, ResetSomePaths) {
  SKIP_IF_UNSUPPORTED();
  real_file("deleted", "d");
  real_dir("cache");
  real_file("cache/old", "o");
  up_file("keep", "k");
  up_file("drop", "d");
  up_file("dir/one", "1");
  up_file("dir/two", "2");
  whiteout("deleted");
  up_opaque("cache");
  const ResetReport r = reset_layer(layer_, {"drop", "dir", "deleted", "cache/old", "nothing"});
  EXPECT_EQ(r.dropped, (std::vector<std::string>{"drop", "dir", "deleted"}));
  EXPECT_EQ(r.notes,
            (std::vector<std::string>{
                "~/cache/old: ~/cache replaced the real directory; reset ~/cache to see the real "
                "~/cache/old again",
                "~/nothing: nothing in the layer"}));
  EXPECT_EQ(format_diff(changes(), DiffStyle::kPlain),
            "O  cache/  (replaced: old contents dropped)\n"
            "D  cache/old\n"
            "A  keep  (1 B)\n");
}

TEST_F(ResetTest, SymlinksInTheLayerAreRemovedNotFollowed) {
  SKIP_IF_UNSUPPORTED();
  const std::string outside = base_ + "/outside";
  ASSERT_EQ(mkdir(outside.c_str(), 0755), 0);
  write_at(outside + "/precious", "p", 0644);
  up_link("link", outside);
  reset_layer(layer_, {"link/precious"});
  reset_layer(layer_, {"link"});
  EXPECT_EQ(snapshot(outside).find("precious"), 0u);
  reset_layer(layer_, {});
  EXPECT_EQ(snapshot(outside).find("precious"), 0u);
  EXPECT_EQ(upper_tree(), "");
}

TEST_F(ResetTest, ReadOnlyParentKeepsItsModeForDiff) {
  SKIP_IF_UNSUPPORTED();
  up_file("ro/a", "a");
  up_file("ro/b", "b");
  ASSERT_EQ(chmod(up("ro").c_str(), 0555), 0);
  reset_layer(layer_, {"ro/a"});
  const auto c = changes();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].path, "ro");
  EXPECT_EQ(c[0].upper_mode, 0555u) << "the app's mode was lost";
}

}  // namespace
}  // namespace sandbox::overlay::testing
