// sandbox-net's DNS resolver for the sandbox: answers the program's questions on 127.0.0.1:53
// and [::1]:53 (UDP and TCP). A name that no rule allows gets NXDOMAIN and a log line; an
// allowed one is forwarded over UDP to the host's servers, and the answer's addresses are added
// to the filter's sets (unless they are loopback or private: DNS rebinding) before the answer,
// unchanged, goes back to the program, so that its connect() finds the address allowed.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "netpolicy/denial_log.h"
#include "netpolicy/dns.h"
#include "netpolicy/fd.h"
#include "netpolicy/rules.h"
#include "netpolicy/upstream.h"

namespace sandbox::netpolicy {

// A socket to watch and what to do when poll(2) reports it.
struct PollItem {
  pollfd pfd;
  std::function<void(short revents)> on_ready;
};

// UDP sockets connected to one upstream server. They are opened in the host's network
// namespace, before the helper joins the sandbox's; a few per server, so that the source port
// of a query is not always the same (RFC 5452 9.2).
struct UpstreamSocket {
  size_t server = 0;
  UniqueFd fd;
};

struct Listeners {
  std::vector<UniqueFd> udp;
  std::vector<UniqueFd> tcp;
};

class DnsProxy {
 public:
  // Runs nft commands as one transaction; returns "" or the error.
  using Commit = std::function<std::string(const std::string& commands)>;

  DnsProxy(std::vector<Rule> rules, std::vector<Upstream> servers, std::vector<UpstreamSocket> upstream,
           Listeners listeners, Commit commit, DenialLog& log, bool verbose);
  ~DnsProxy();

  // Appends the sockets to poll and their handlers.
  void watch(std::vector<PollItem>& items);
  // Milliseconds until the next deadline, or -1.
  int timeout_ms(int64_t now) const;
  // Sends unanswered queries to the next server (SERVFAIL after the last) and closes idle TCP
  // clients.
  void expire(int64_t now);

 private:
  struct Client {
    bool tcp = false;
    int udp_fd = -1;
    sockaddr_storage addr{};
    socklen_t addrlen = 0;
    uint64_t conn = 0;
  };
  struct Pending {
    Client client;
    uint16_t client_id = 0;
    Query query;
    Bytes packet;  // as sent upstream, with our id
    size_t server = 0;
    size_t socket = 0;
    int64_t deadline = 0;
  };
  struct TcpClient {
    UniqueFd fd;
    Bytes in, out;
    int64_t last_active = 0;
    bool eof = false;
    size_t waiting = 0;  // forwarded queries not answered yet
  };

  void read_udp_queries(int fd);
  void accept_tcp(int fd);
  void serve_tcp(uint64_t id, short revents);
  void read_upstream(size_t socket);
  void handle_query(ByteView packet, const Client& client);
  void handle_response(size_t socket, ByteView packet);
  void forward(Pending p, size_t first_server);
  void reply(const Client& client, const Bytes& message, bool was_forwarded);
  void flush_tcp(uint64_t id);
  void close_tcp_if_done(uint64_t id);
  uint16_t fresh_id() const;
  void note(const std::string& message) const;

  std::vector<Rule> rules_;
  std::vector<Upstream> servers_;
  std::vector<UpstreamSocket> upstream_;
  Listeners listeners_;
  Commit commit_;
  DenialLog& log_;
  bool verbose_;
  std::map<uint16_t, Pending> pending_;  // by the id sent upstream
  std::map<uint64_t, TcpClient> tcp_;
  uint64_t next_tcp_id_ = 1;
};

}  // namespace sandbox::netpolicy
