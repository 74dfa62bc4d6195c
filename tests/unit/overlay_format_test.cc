// The pure formatting of changes: quoting, sizes, JSON strings, --stat.
#include <gtest/gtest.h>

#include "overlay/format.h"

namespace sandbox::overlay {
namespace {

TEST(OverlayFormat, QuotesLikeGitCoreQuotePath) {
  EXPECT_EQ(quote_path("plain/path.txt"), "plain/path.txt");
  EXPECT_EQ(quote_path("a\nb"), "\"a\\nb\"");
  EXPECT_EQ(quote_path("caf\xc3\xa9"), "\"caf\\303\\251\"");
  EXPECT_EQ(quote_path("with space"), "\"with space\"");
  EXPECT_EQ(quote_path("tab\t"), "\"tab\\t\"");
  EXPECT_EQ(quote_path("back\\slash"), "\"back\\\\slash\"");
  EXPECT_EQ(quote_path("q\"uote"), "\"q\\\"uote\"");
  EXPECT_EQ(quote_path("\x01\x7f"), "\"\\001\\177\"");
}

TEST(OverlayFormat, Sizes) {
  EXPECT_EQ(format_size(0), "0 B");
  EXPECT_EQ(format_size(12), "12 B");
  EXPECT_EQ(format_size(1023), "1023 B");
  EXPECT_EQ(format_size(1024), "1 KiB");
  EXPECT_EQ(format_size(1229), "1.2 KiB");
  EXPECT_EQ(format_size(3 * 1024), "3 KiB");
  EXPECT_EQ(format_size(5ull << 20), "5 MiB");
  EXPECT_EQ(format_size((3ull << 30) / 2), "1.5 GiB");
}

TEST(OverlayFormat, JsonStringsAreValidUtf8) {
  EXPECT_EQ(json_string("plain"), "\"plain\"");
  EXPECT_EQ(json_string("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\u0001\"");
  EXPECT_EQ(json_string("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(json_string("bad\xff\xc3"), "\"bad\\ufffd\\ufffd\"");
  EXPECT_TRUE(valid_utf8("caf\xc3\xa9 \xf0\x9f\x98\x80"));
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
}

Change make(const std::string& path, Change::Kind kind, char up, char low, uint64_t up_size = 0,
            uint64_t low_size = 0) {
  Change c;
  c.path = path;
  c.kind = kind;
  c.upper_type = up;
  c.lower_type = low;
  c.upper_size = up_size;
  c.lower_size = low_size;
  return c;
}

TEST(OverlayFormat, PlainLines) {
  Change o = make("dir", Change::kOpaque, 'd', 'd');
  Change m = make("script", Change::kMetadata, 'f', 'f');
  m.mode_changed = true;
  m.lower_mode = 0644;
  m.upper_mode = 0755;
  Change conflict = make("f", Change::kModified, 'f', 'f', 9, 5);
  conflict.conflict = true;
  conflict.conflict_reason = "changed in the real home after the app made its version";
  EXPECT_EQ(format_change(o), "O  dir/  (replaced: old contents dropped)\n");
  EXPECT_EQ(format_change(m), "m  script  (mode 0644 -> 0755)\n");
  EXPECT_EQ(format_change(conflict),
            "M! f  (5 B -> 9 B)  [conflict: changed in the real home after the app made its version]\n");
  EXPECT_EQ(format_change(make("t", Change::kTypeChanged, 'l', 'f')), "T  t  (file -> symlink)\n");
}

TEST(OverlayFormat, Stat) {
  std::vector<Change> changes = {
      make("a", Change::kAdded, 'f', '-', 2048),
      make("b", Change::kAdded, 'f', '-', 100),
      make("c", Change::kModified, 'f', 'f', 10, 20),
      make("d", Change::kDeleted, '-', 'f', 0, 5),
      make("e", Change::kUnchanged, 'f', 'f', 1, 1),
  };
  changes[2].conflict = true;
  EXPECT_EQ(format_diff(changes, DiffStyle::kStat),
            "added                2  2.1 KiB\n"
            "modified             1  10 B\n"
            "deleted              1  5 B\n"
            "total                4  2.1 KiB to write, 5 B to delete\n"
            "conflicts            1  (commit refuses them without --force)\n"
            "unchanged            1  (same as the real home; commit drops them)\n");
  EXPECT_EQ(format_diff({}, DiffStyle::kStat), "");
  EXPECT_EQ(format_json({}), "[]\n");
}

}  // namespace
}  // namespace sandbox::overlay
