// The child -> parent channel: a SOCK_SEQPACKET socketpair carrying one message per packet.
// The child reports its errors here and the parent prints them, once.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "launcher/error.h"

namespace sandbox::launcher {

struct Message {
  // kFuse: the child asks the parent to start fuse-overlayfs for it (fd attached: /dev/fuse);
  // the parent answers kFuse with text "ok" or an error.
  // kGo: the parent lets the child start its setup (it is in its cgroup now); text
  // "fallback" when no cgroup could be had and rlimits stand in.
  // kNet: the child, its network namespace up, asks the parent to start the filtered
  // network (launcher/network.h); the parent answers kNet "ok", or kError.
  enum class Type { kError, kLog, kExit, kNotice, kFuse, kGo, kNet } type = Type::kLog;
  SetupError error;  // kError
  std::string text;  // kLog (shown with -v), kNotice (always shown)
  int exit_code = 0; // kExit: the app's status, already mapped (DESIGN.md: 128+N for signal N)
  int signal = 0;    // kExit: the signal that killed the app, 0 when it exited
};

std::string encode(const Message& m);
std::optional<Message> decode(const std::string& packet);

// Best effort: the child has nowhere else to report a failure to send. `fds` travel along
// (SCM_RIGHTS).
void send_message(int sock, const Message& m, const std::vector<int>& fds = {});
// Blocks for one packet; nullopt on EOF (every sender closed) or error. Fds that came along
// are stored in `fds` (O_CLOEXEC), or closed when `fds` is null.
std::optional<Message> recv_message(int sock, std::vector<int>* fds = nullptr);

}  // namespace sandbox::launcher
