#include "launcher/channel.h"

#include <sys/socket.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace sandbox::launcher {

namespace {
constexpr size_t kMaxPacket = 16384;

std::vector<std::string> split_nul(const std::string& s) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t nul = s.find('\0', pos);
    if (nul == std::string::npos) nul = s.size();
    parts.push_back(s.substr(pos, nul - pos));
    pos = nul + 1;
  }
  return parts;
}
}  // namespace

std::string encode(const Message& m) {
  std::string out;
  auto field = [&out](const std::string& f) {
    out += f;
    out.push_back('\0');
  };
  if (m.type == Message::Type::kExit) {
    field("X");
    field(std::to_string(m.exit_code));
    out += std::to_string(m.signal);
    return out;
  }
  if (m.type == Message::Type::kLog || m.type == Message::Type::kNotice ||
      m.type == Message::Type::kFuse || m.type == Message::Type::kGo || m.type == Message::Type::kNet) {
    field(m.type == Message::Type::kLog      ? "L"
          : m.type == Message::Type::kNotice ? "N"
          : m.type == Message::Type::kFuse   ? "F"
          : m.type == Message::Type::kNet    ? "W"
                                             : "G");
    out += m.text;
    return out;
  }
  const SetupError& e = m.error;
  field("E");
  field(e.stage);
  field(e.op);
  field(e.path);
  field(std::to_string(e.err));
  field(std::to_string(e.exit_code));
  out += e.hint;
  return out;
}

std::optional<Message> decode(const std::string& packet) {
  auto parts = split_nul(packet);
  Message m;
  if (parts.size() == 3 && parts[0] == "X") {
    m.type = Message::Type::kExit;
    try {
      m.exit_code = std::stoi(parts[1]);
      m.signal = std::stoi(parts[2]);
    } catch (...) {
      return std::nullopt;
    }
    return m;
  }
  if (parts.size() == 2 && (parts[0] == "L" || parts[0] == "N" || parts[0] == "F" || parts[0] == "G" ||
                            parts[0] == "W")) {
    m.type = parts[0] == "L"   ? Message::Type::kLog
             : parts[0] == "N" ? Message::Type::kNotice
             : parts[0] == "F" ? Message::Type::kFuse
             : parts[0] == "W" ? Message::Type::kNet
                               : Message::Type::kGo;
    m.text = parts[1];
    return m;
  }
  if (parts.size() == 7 && parts[0] == "E") {
    m.type = Message::Type::kError;
    m.error.stage = parts[1];
    m.error.op = parts[2];
    m.error.path = parts[3];
    try {
      m.error.err = std::stoi(parts[4]);
      m.error.exit_code = std::stoi(parts[5]);
    } catch (...) {
      return std::nullopt;
    }
    m.error.hint = parts[6];
    return m;
  }
  return std::nullopt;
}

void send_message(int sock, const Message& m, const std::vector<int>& fds) {
  std::string packet = encode(m);
  if (packet.size() > kMaxPacket) packet.resize(kMaxPacket);
  iovec iov{packet.data(), packet.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

std::optional<Message> recv_message(int sock, std::vector<int>* fds) {
  std::string buf(kMaxPacket, '\0');
  iovec iov{buf.data(), buf.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return std::nullopt;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (fds)
        fds->push_back(fd);
      else
        close(fd);
    }
  }
  buf.resize(static_cast<size_t>(n));
  return decode(buf);
}

}  // namespace sandbox::launcher
