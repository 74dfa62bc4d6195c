// How changes are shown: one line per change (like `git diff --name-status`), a summary
// (--stat), or JSON. Pure functions.
//
// Plain lines: a kind letter, '!' for a conflict or a refusal, the path, then details:
//   A  notes.txt  (12 B)                   added
//   M  .bashrc  (1.2 KiB -> 3 KiB)         content changed
//   D  old.txt                             deleted (a directory: "D  dir/  (3 entries, 5 B)")
//   T  link  (file -> symlink)             type changed
//   m  script  (mode 0644 -> 0755)         metadata only ("mtime" when only that changed)
//   O  dir/  (replaced: old contents dropped)
//   M! .profile  (5 B -> 9 B)  [conflict: changed in the real home after ...]
// Entries equal to the real home (kUnchanged) are not listed; --stat and --json count them.
//
// Paths are quoted as git's core.quotePath does when they hold anything but printable ASCII
// other than '"' and '\' (and, since fields are separated by spaces here, also a space):
// "a\nb", "caf\303\251", "my file". Directories end in '/'.
//
// JSON: an array of objects, one per change, unchanged ones included. Strings are UTF-8.
// A path (or symlink target) that is not valid UTF-8 is given twice: "path" with every
// invalid byte replaced by U+FFFD (for display), and "path_bytes_hex" (resp.
// "link_target_bytes_hex") with the exact bytes in lowercase hex, which is what a program
// must use when the field is present.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "overlay/changes.h"

namespace sandbox::overlay {

enum class DiffStyle { kPlain, kStat };

std::string format_diff(const std::vector<Change>& changes, DiffStyle style);
std::string format_json(const std::vector<Change>& changes);

// One plain line (with its '\n').
std::string format_change(const Change& c);

std::string quote_path(const std::string& path);  // core.quotePath style, plus spaces
std::string format_size(uint64_t bytes);           // "12 B", "1.2 KiB", "3 MiB"
std::string json_string(const std::string& s);     // a JSON string literal; invalid UTF-8 -> U+FFFD
bool valid_utf8(const std::string& s);

// Counts of the visible changes (not kUnchanged).
size_t count_visible(const std::vector<Change>& changes);

}  // namespace sandbox::overlay
