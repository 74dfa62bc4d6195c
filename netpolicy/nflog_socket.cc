#include "netpolicy/nflog_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace sandbox::netpolicy {
namespace {

[[noreturn]] void fail(const std::string& what, int err) {
  throw std::runtime_error(what + ": " + std::strerror(err));
}

void put_attr(std::vector<uint8_t>& msg, uint16_t type, const void* data, size_t len) {
  nlattr a{};
  a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
  a.nla_type = type;
  size_t at = msg.size();
  msg.resize(at + NLA_ALIGN(a.nla_len));
  std::memcpy(msg.data() + at, &a, sizeof a);
  std::memcpy(msg.data() + at + NLA_HDRLEN, data, len);
}

// Sends one NFULNL_MSG_CONFIG request for `group` and waits for the kernel's ack.
void configure(int fd, uint16_t group, uint32_t seq, const std::vector<uint8_t>& attrs, const char* what) {
  std::vector<uint8_t> msg(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg)));
  msg.insert(msg.end(), attrs.begin(), attrs.end());
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(msg.size());
  h.nlmsg_type = NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_CONFIG;
  h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  h.nlmsg_seq = seq;
  nfgenmsg g{};
  g.nfgen_family = AF_UNSPEC;
  g.version = NFNETLINK_V0;
  g.res_id = htons(group);
  std::memcpy(msg.data(), &h, sizeof h);
  std::memcpy(msg.data() + NLMSG_HDRLEN, &g, sizeof g);
  if (send(fd, msg.data(), msg.size(), 0) < 0) fail(std::string("NFLOG ") + what + ": send", errno);

  alignas(nlmsghdr) uint8_t buf[8192];
  for (int tries = 0; tries < 100; ++tries) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);  // the socket is still blocking here
    if (n < 0) fail(std::string("NFLOG ") + what + ": recv", errno);
    for (size_t off = 0; off + sizeof(nlmsghdr) <= static_cast<size_t>(n);) {
      nlmsghdr r;
      std::memcpy(&r, buf + off, sizeof r);
      if (r.nlmsg_len < sizeof r || r.nlmsg_len > n - off) break;
      if (r.nlmsg_type == NLMSG_ERROR && r.nlmsg_seq == seq &&
          r.nlmsg_len >= NLMSG_HDRLEN + sizeof(nlmsgerr)) {
        nlmsgerr e;
        std::memcpy(&e, buf + off + NLMSG_HDRLEN, sizeof e);
        if (e.error != 0) fail(std::string("NFLOG ") + what, -e.error);
        return;
      }
      off += NLMSG_ALIGN(r.nlmsg_len);
    }
  }
  throw std::runtime_error(std::string("NFLOG ") + what + ": no answer from the kernel");
}

}  // namespace

UniqueFd open_nflog(uint16_t group, uint32_t copy_range) {
  UniqueFd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
  if (!fd.valid()) fail("NFLOG: socket(AF_NETLINK, NETLINK_NETFILTER)", errno);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) fail("NFLOG: bind", errno);
  // Room for bursts: the kernel drops what does not fit (we then read ENOBUFS and go on).
  int rcvbuf = 1 << 20;
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);

  std::vector<uint8_t> bind_attrs;
  nfulnl_msg_config_cmd cmd{NFULNL_CFG_CMD_BIND};
  put_attr(bind_attrs, NFULA_CFG_CMD, &cmd, sizeof cmd);
  configure(fd.get(), group, 1, bind_attrs, "bind group");

  std::vector<uint8_t> mode_attrs;
  nfulnl_msg_config_mode mode{};
  mode.copy_range = htonl(copy_range);
  mode.copy_mode = NFULNL_COPY_PACKET;
  put_attr(mode_attrs, NFULA_CFG_MODE, &mode, sizeof mode);
  // One packet per message, sent at once: the log should show a refusal when it happens.
  uint32_t qthresh = htonl(1);
  put_attr(mode_attrs, NFULA_CFG_QTHRESH, &qthresh, sizeof qthresh);
  configure(fd.get(), group, 2, mode_attrs, "set copy mode");

  if (fcntl(fd.get(), F_SETFL, fcntl(fd.get(), F_GETFL) | O_NONBLOCK) < 0)
    fail("NFLOG: fcntl(O_NONBLOCK)", errno);
  return fd;
}

}  // namespace sandbox::netpolicy
