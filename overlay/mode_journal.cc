#include "overlay/mode_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <sstream>

#include "overlay/layer.h"

namespace sandbox::overlay {

ModeJournal::Key ModeJournal::key_of(const fsio::EntryStat& st) {
  // Without a birth time the inode number alone identifies the entry; the file goes away
  // with the layer's last entry, so a reused inode number can only meet a stale line while
  // a commit is unfinished.
  if (!st.has_btime) return {st.ino, {0, 0}};
  return {st.ino, {static_cast<long long>(st.btime.tv_sec), st.btime.tv_nsec}};
}

ModeJournal ModeJournal::load(int layer_root_fd, const std::string& layer_root) {
  ModeJournal j;
  const std::string path = layer_root + "/" + kModeJournalName;
  fsio::UniqueFd fd(fsio::open_beneath(layer_root_fd, kModeJournalName, O_RDONLY));
  if (!fd.valid()) {
    if (errno == ENOENT) return j;
    throw LayerError(path, errno, "cannot open commit's mode journal");
  }
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0) throw LayerError(path, errno, "cannot read commit's mode journal");
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    unsigned long long ino = 0;
    long long sec = 0;
    long nsec = 0;
    unsigned mode = 0;
    // A torn last line (killed while appending) does not parse and is ignored: the chmod it
    // would have described did not happen yet.
    if (std::sscanf(line.c_str(), "%llu %lld %ld %o", &ino, &sec, &nsec, &mode) == 4)
      j.modes_[{ino, {sec, nsec}}] = static_cast<mode_t>(mode & 07777);
  }
  return j;
}

std::optional<mode_t> ModeJournal::saved_mode(const fsio::EntryStat& st) const {
  if (modes_.empty()) return std::nullopt;
  const auto it = modes_.find(key_of(st));
  if (it == modes_.end()) return std::nullopt;
  return it->second;
}

void ModeJournal::append(int layer_root_fd, const std::string& layer_root,
                         const fsio::EntryStat& st) {
  const Key k = key_of(st);
  if (modes_.count(k)) return;  // the first saved mode is the app's; keep it
  const std::string path = layer_root + "/" + kModeJournalName;
  fsio::UniqueFd fd(fsio::open_beneath(layer_root_fd, kModeJournalName,
                                       O_WRONLY | O_APPEND | O_CREAT));
  if (!fd.valid()) throw LayerError(path, errno, "cannot open commit's mode journal");
  char line[96];
  const int n = std::snprintf(line, sizeof(line), "%llu %lld %ld %o\n", k.first,
                              k.second.first, k.second.second, static_cast<unsigned>(st.perm));
  if (write(fd.get(), line, static_cast<size_t>(n)) != n || fsync(fd.get()) != 0)
    throw LayerError(path, errno, "cannot write commit's mode journal");
  modes_[k] = st.perm;
}

}  // namespace sandbox::overlay
