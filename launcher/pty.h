// When the caller sits at a terminal, the sandbox gets a terminal of its own: a new pty whose
// slave is the app's controlling terminal, proxied to the caller's terminal by the launcher.
// The app then has job control, yet TIOCSTI and friends reach only its own pty, never the
// caller's terminal (the reason bubblewrap has --new-session).
#pragma once

#include <termios.h>

#include <string>

#include "launcher/sys.h"

namespace sandbox::launcher {

struct Pty {
  Fd master;
  Fd slave;
  std::string path;  // the slave's path on the host (/dev/pts/N)
};

// Opens a pty with the caller terminal's modes and window size. Throws SetupError.
Pty open_pty_like(int tty_fd);

// Puts a terminal in raw mode for as long as it lives (the sandbox's pty does the cooking).
class RawMode {
 public:
  explicit RawMode(int fd);
  RawMode(const RawMode&) = delete;
  RawMode& operator=(const RawMode&) = delete;
  ~RawMode();

 private:
  int fd_;
  bool active_ = false;
  termios saved_{};
};

void copy_window_size(int from_tty, int to_tty);

// Copies what is available from `from` to `to`. Returns false on EOF or a read error.
bool pump(int from, int to);

}  // namespace sandbox::launcher
