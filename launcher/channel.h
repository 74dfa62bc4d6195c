// The child -> parent channel: a SOCK_SEQPACKET socketpair carrying one message per packet.
// The child reports its errors here and the parent prints them, once.
#pragma once

#include <optional>
#include <string>

#include "launcher/error.h"

namespace sandbox::launcher {

struct Message {
  enum class Type { kError, kLog, kExit, kNotice } type = Type::kLog;
  SetupError error;  // kError
  std::string text;  // kLog (shown with -v), kNotice (always shown)
  int exit_code = 0; // kExit: the app's status, already mapped (DESIGN.md: 128+N for signal N)
};

std::string encode(const Message& m);
std::optional<Message> decode(const std::string& packet);

// Best effort: the child has nowhere else to report a failure to send.
void send_message(int sock, const Message& m);
// Blocks for one packet; nullopt on EOF (every sender closed) or error.
std::optional<Message> recv_message(int sock);

}  // namespace sandbox::launcher
