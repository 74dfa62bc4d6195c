#include "launcher/channel.h"

#include <sys/socket.h>

#include <cerrno>
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
    out += std::to_string(m.exit_code);
    return out;
  }
  if (m.type == Message::Type::kLog || m.type == Message::Type::kNotice) {
    field(m.type == Message::Type::kLog ? "L" : "N");
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
  if (parts.size() == 2 && parts[0] == "X") {
    m.type = Message::Type::kExit;
    try {
      m.exit_code = std::stoi(parts[1]);
    } catch (...) {
      return std::nullopt;
    }
    return m;
  }
  if (parts.size() == 2 && (parts[0] == "L" || parts[0] == "N")) {
    m.type = parts[0] == "L" ? Message::Type::kLog : Message::Type::kNotice;
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

void send_message(int sock, const Message& m) {
  std::string packet = encode(m);
  if (packet.size() > kMaxPacket) packet.resize(kMaxPacket);
  while (send(sock, packet.data(), packet.size(), MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

std::optional<Message> recv_message(int sock) {
  std::string buf(kMaxPacket, '\0');
  ssize_t n;
  do {
    n = recv(sock, buf.data(), buf.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return std::nullopt;
  buf.resize(static_cast<size_t>(n));
  return decode(buf);
}

}  // namespace sandbox::launcher
