#include "launcher/pty.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

#include "launcher/error.h"

namespace sandbox::launcher {

Pty open_pty_like(int tty_fd) {
  Pty p;
  p.master = Fd(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!p.master.valid()) throw sys_error("open", "/dev/ptmx");
  if (grantpt(p.master.get()) != 0 || unlockpt(p.master.get()) != 0)
    throw sys_error("unlock pty", "/dev/ptmx");
  // TIOCGPTPEER opens the slave through the master's own devpts, no path lookup needed.
  p.slave = Fd(ioctl(p.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!p.slave.valid()) throw sys_error("open pty slave", "");
  char name[64];
  if (ptsname_r(p.master.get(), name, sizeof(name)) == 0) p.path = name;
  termios modes;
  if (tcgetattr(tty_fd, &modes) == 0) tcsetattr(p.slave.get(), TCSANOW, &modes);
  copy_window_size(tty_fd, p.slave.get());
  return p;
}

void copy_window_size(int from_tty, int to_tty) {
  winsize ws;
  if (ioctl(from_tty, TIOCGWINSZ, &ws) == 0) ioctl(to_tty, TIOCSWINSZ, &ws);
}

RawMode::RawMode(int fd) : fd_(fd) {
  if (tcgetattr(fd_, &saved_) != 0) return;
  termios raw = saved_;
  cfmakeraw(&raw);
  active_ = tcsetattr(fd_, TCSANOW, &raw) == 0;
}

RawMode::~RawMode() {
  if (active_) tcsetattr(fd_, TCSAFLUSH, &saved_);
}

bool pump(int from, int to) {
  char buf[16384];
  ssize_t n;
  do {
    n = read(from, buf, sizeof(buf));
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  ssize_t off = 0;
  while (off < n) {
    ssize_t w = write(to, buf + off, static_cast<size_t>(n - off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN;  // the other side is not reading; drop rather than hang
    }
    off += w;
  }
  return true;
}

}  // namespace sandbox::launcher
