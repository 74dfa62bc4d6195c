#include "netpolicy/denial_log.h"

#include <poll.h>
#include <unistd.h>

#include <ctime>

namespace sandbox::netpolicy {

int64_t monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

void DenialLog::refused(const std::string& what, const std::string& key) {
  if (!repeats_.should_log(key, monotonic_ms())) return;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  std::string line = refused_line(now, what);
  // A pipe that polls writable has room for at least PIPE_BUF bytes, and a write of up to
  // PIPE_BUF bytes to it is atomic (pipe(7)): our lines are far shorter, so this cannot block.
  // The descriptor's flags are not changed: it may be shared with the launcher.
  pollfd p{fd_, POLLOUT, 0};
  if (line.size() > 4096 || poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT) ||
      write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    ++dropped_;
  }
}

}  // namespace sandbox::netpolicy
