// Modes that commit saved before it made a layer entry accessible to itself.
//
// Commit has to empty layer directories that the app made read-only (Go's module cache is all
// 0555 directories) and to read files it made unreadable. Without privileges that means
// chmod u+rwx on the layer entry first, which would lose the mode commit still has to apply
// to the real home if it were killed right after. So the entry's mode is appended to
// STATE/APP/commit-modes (and fsynced) before the chmod, keyed by inode number and birth
// time, and every walk of the layer reads an entry's mode from there while the entry exists.
// The file is removed when the layer is empty or reset.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "overlay/tree_io.h"

namespace sandbox::overlay {

inline constexpr const char* kModeJournalName = "commit-modes";

class ModeJournal {
 public:
  // Reads STATE/APP/commit-modes below the layer root fd; empty when there is none.
  static ModeJournal load(int layer_root_fd, const std::string& layer_root);

  // The saved mode of this entry, when commit changed it.
  std::optional<mode_t> saved_mode(const fsio::EntryStat& st) const;

  // Appends one line and fsyncs the file: the caller counts this as one mutation.
  void append(int layer_root_fd, const std::string& layer_root, const fsio::EntryStat& st);

  bool empty() const { return modes_.empty(); }

 private:
  using Key = std::pair<unsigned long long, std::pair<long long, long>>;  // ino, btime
  static Key key_of(const fsio::EntryStat& st);
  std::map<Key, mode_t> modes_;
};

}  // namespace sandbox::overlay
