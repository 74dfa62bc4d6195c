#include "netpolicy/dns_proxy.h"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "netpolicy/nft.h"

namespace sandbox::netpolicy {
namespace {

constexpr int64_t kUpstreamTimeoutMs = 3000;  // per server, as the libc resolver's default 5 s is long
constexpr int64_t kTcpIdleMs = 10000;         // RFC 7766 6.2.3 suggests seconds, not minutes
constexpr size_t kMaxPending = 512;
constexpr size_t kMaxTcpClients = 32;
constexpr size_t kMaxTcpOutput = 256 * 1024;  // a client that never reads is dropped
constexpr int kMaxReadsPerWakeup = 64;        // keeps one busy socket from starving the others

uint32_t random_u32() {
  uint32_t v = 0;
  if (getrandom(&v, sizeof v, 0) != sizeof v) v = static_cast<uint32_t>(monotonic_ms() * 2654435761u);
  return v;
}

}  // namespace

DnsProxy::DnsProxy(std::vector<Rule> rules, std::vector<Upstream> servers,
                   std::vector<UpstreamSocket> upstream, Listeners listeners, Commit commit, DenialLog& log,
                   bool verbose)
    : rules_(std::move(rules)),
      servers_(std::move(servers)),
      upstream_(std::move(upstream)),
      listeners_(std::move(listeners)),
      commit_(std::move(commit)),
      log_(log),
      verbose_(verbose) {}

DnsProxy::~DnsProxy() = default;

void DnsProxy::note(const std::string& message) const {
  if (verbose_) fprintf(stderr, "sandbox-net: %s\n", message.c_str());
}

void DnsProxy::watch(std::vector<PollItem>& items) {
  for (const UniqueFd& fd : listeners_.udp) {
    items.push_back({{fd.get(), POLLIN, 0}, [this, f = fd.get()](short) { read_udp_queries(f); }});
  }
  for (const UniqueFd& fd : listeners_.tcp) {
    items.push_back({{fd.get(), POLLIN, 0}, [this, f = fd.get()](short) { accept_tcp(f); }});
  }
  for (size_t i = 0; i < upstream_.size(); ++i) {
    items.push_back({{upstream_[i].fd.get(), POLLIN, 0}, [this, i](short) { read_upstream(i); }});
  }
  for (auto& [id, c] : tcp_) {
    // A client that closed its side and has nothing to receive waits for its answers
    // unwatched: poll(2) would report its hang-up again and again.
    if (c.eof && c.out.empty()) continue;
    short events = static_cast<short>((c.eof ? 0 : POLLIN) | (c.out.empty() ? 0 : POLLOUT));
    items.push_back({{c.fd.get(), events, 0}, [this, id = id](short revents) { serve_tcp(id, revents); }});
  }
}

int DnsProxy::timeout_ms(int64_t now) const {
  int64_t next = -1;
  auto consider = [&](int64_t deadline) {
    int64_t wait = std::max<int64_t>(0, deadline - now);
    if (next < 0 || wait < next) next = wait;
  };
  for (const auto& [id, p] : pending_) consider(p.deadline);
  for (const auto& [id, c] : tcp_) {
    if (c.waiting == 0) consider(c.last_active + kTcpIdleMs);
  }
  return static_cast<int>(next);
}

void DnsProxy::expire(int64_t now) {
  std::vector<uint16_t> late;
  for (const auto& [id, p] : pending_) {
    if (p.deadline <= now) late.push_back(id);
  }
  for (uint16_t id : late) {
    Pending p = std::move(pending_.at(id));
    pending_.erase(id);
    note("no answer from " + describe(servers_[p.server]) + " for " + p.query.question.qname);
    size_t next = p.server + 1;
    forward(std::move(p), next);
  }
  std::vector<uint64_t> idle;
  for (const auto& [id, c] : tcp_) {
    if (c.waiting == 0 && c.last_active + kTcpIdleMs <= now) idle.push_back(id);
  }
  for (uint64_t id : idle) tcp_.erase(id);
}

void DnsProxy::read_udp_queries(int fd) {
  uint8_t buf[65536];
  for (int i = 0; i < kMaxReadsPerWakeup; ++i) {
    Client c;
    c.udp_fd = fd;
    c.addrlen = sizeof c.addr;
    ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&c.addr), &c.addrlen);
    if (n < 0) return;  // EAGAIN, or an error the next poll reports again
    handle_query(ByteView(buf, static_cast<size_t>(n)), c);
  }
}

void DnsProxy::accept_tcp(int fd) {
  UniqueFd conn(accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!conn.valid()) return;
  if (tcp_.size() >= kMaxTcpClients) {
    note("too many DNS-over-TCP clients; closing a new one");
    return;
  }
  TcpClient& c = tcp_[next_tcp_id_++];
  c.fd = std::move(conn);
  c.last_active = monotonic_ms();
}

void DnsProxy::serve_tcp(uint64_t id, short revents) {
  auto it = tcp_.find(id);
  if (it == tcp_.end()) return;
  if (!it->second.eof && (revents & (POLLIN | POLLHUP | POLLERR))) {
    uint8_t buf[16384];
    ssize_t n = read(it->second.fd.get(), buf, sizeof buf);
    if (n > 0) {
      it->second.in.insert(it->second.in.end(), buf, buf + n);
      it->second.last_active = monotonic_ms();
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      it->second.eof = true;
      if (n < 0) it->second.out.clear();  // the peer is gone; nothing can be sent
    }
    // Each message has a 2-byte length prefix (RFC 1035 4.2.2); clients may pipeline them.
    for (;;) {
      auto c = tcp_.find(id);
      if (c == tcp_.end() || c->second.in.size() < 2) break;
      size_t len = static_cast<size_t>(c->second.in[0] << 8 | c->second.in[1]);
      if (c->second.in.size() < 2 + len) break;
      Bytes message(c->second.in.begin() + 2, c->second.in.begin() + 2 + static_cast<long>(len));
      c->second.in.erase(c->second.in.begin(), c->second.in.begin() + 2 + static_cast<long>(len));
      Client client;
      client.tcp = true;
      client.conn = id;
      handle_query(message, client);
    }
  }
  if (revents & (POLLOUT | POLLHUP | POLLERR)) flush_tcp(id);  // a dead peer: send() fails, we close
  close_tcp_if_done(id);
}

void DnsProxy::flush_tcp(uint64_t id) {
  auto it = tcp_.find(id);
  if (it == tcp_.end() || it->second.out.empty()) return;
  ssize_t n =
      send(it->second.fd.get(), it->second.out.data(), it->second.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n > 0) {
    it->second.out.erase(it->second.out.begin(), it->second.out.begin() + n);
  } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
    it->second.eof = true;
    it->second.out.clear();
  }
}

void DnsProxy::close_tcp_if_done(uint64_t id) {
  auto it = tcp_.find(id);
  if (it == tcp_.end()) return;
  const TcpClient& c = it->second;
  if ((c.eof && c.waiting == 0 && c.out.empty()) || c.out.size() > kMaxTcpOutput) tcp_.erase(it);
}

uint16_t DnsProxy::fresh_id() const {
  for (;;) {
    auto id = static_cast<uint16_t>(random_u32());
    if (!pending_.contains(id)) return id;
  }
}

void DnsProxy::handle_query(ByteView packet, const Client& client) {
  Query q;
  try {
    q = parse_query(packet);
  } catch (const DnsError& e) {
    note(std::string("malformed DNS query from the sandbox: ") + e.what());
    // Answer FORMERR when there is a query header to answer; never answer a response.
    if (packet.size() >= kHeaderSize && !(packet[2] & 0x80)) {
      reply(client,
            header_response(message_id(packet), static_cast<uint16_t>(packet[2] << 8 | packet[3]),
                            Rcode::kFormErr),
            false);
    }
    return;
  }
  const std::string& name = q.question.qname;
  if (q.question.qclass != kClassIn) {
    reply(client, error_response(q, Rcode::kRefused), false);
    return;
  }
  bool allowed =
      std::any_of(rules_.begin(), rules_.end(), [&](const Rule& r) { return name_matches(r, name); });
  if (!allowed) {
    log_.refused(dns_not_allowed(name, q.question.qtype),
                 "dns " + name + " " + std::to_string(q.question.qtype));
    reply(client, error_response(q, Rcode::kNxDomain), false);
    return;
  }
  if (pending_.size() >= kMaxPending) {
    note("too many DNS queries waiting for an answer; SERVFAIL for " + name);
    reply(client, error_response(q, Rcode::kServFail), false);
    return;
  }
  Pending p;
  p.client = client;
  p.client_id = q.id;
  p.packet.assign(packet.begin(), packet.end());
  p.query = std::move(q);
  if (client.tcp) ++tcp_.at(client.conn).waiting;
  forward(std::move(p), 0);
}

void DnsProxy::forward(Pending p, size_t first_server) {
  for (size_t s = first_server; s < servers_.size(); ++s) {
    std::vector<size_t> sockets;
    for (size_t i = 0; i < upstream_.size(); ++i) {
      if (upstream_[i].server == s) sockets.push_back(i);
    }
    if (sockets.empty()) continue;
    size_t sock = sockets[random_u32() % sockets.size()];
    uint16_t id = fresh_id();
    set_message_id(p.packet, id);
    if (send(upstream_[sock].fd.get(), p.packet.data(), p.packet.size(), MSG_DONTWAIT) < 0) {
      note("sending to " + describe(servers_[s]) + ": " + std::strerror(errno));
      continue;
    }
    p.server = s;
    p.socket = sock;
    p.deadline = monotonic_ms() + kUpstreamTimeoutMs;
    pending_.emplace(id, std::move(p));
    return;
  }
  note("no DNS server answered for " + p.query.question.qname + "; SERVFAIL");
  reply(p.client, error_response(p.query, Rcode::kServFail), true);
}

void DnsProxy::read_upstream(size_t socket) {
  uint8_t buf[65536];
  for (int i = 0; i < kMaxReadsPerWakeup; ++i) {
    ssize_t n = recv(upstream_[socket].fd.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == ECONNREFUSED) {
      // ICMP port unreachable: nothing listens there. Ask the next server now, not in 3 s.
      std::vector<uint16_t> refused;
      for (const auto& [id, p] : pending_) {
        if (p.socket == socket) refused.push_back(id);
      }
      for (uint16_t id : refused) {
        Pending p = std::move(pending_.at(id));
        pending_.erase(id);
        note("DNS server " + describe(servers_[p.server]) + " refused the connection");
        size_t next = p.server + 1;
        forward(std::move(p), next);
      }
      continue;
    }
    if (n < 0) return;
    handle_response(socket, ByteView(buf, static_cast<size_t>(n)));
  }
}

void DnsProxy::handle_response(size_t socket, ByteView packet) {
  auto it = pending_.find(message_id(packet));
  // Only the server and socket the query went to may answer it (the socket is connected, so
  // the kernel already checked the server's address and port).
  if (it == pending_.end() || it->second.socket != socket) return;
  Response r;
  try {
    r = parse_response(packet);
  } catch (const DnsError& e) {
    note("malformed answer from " + describe(servers_[it->second.server]) + ": " + e.what());
    Pending p = std::move(it->second);
    pending_.erase(it);
    size_t next = p.server + 1;
    forward(std::move(p), next);
    return;
  }
  const Question& asked = it->second.query.question;
  if (r.question.qname != asked.qname || r.question.qtype != asked.qtype ||
      r.question.qclass != asked.qclass) {
    note("answer from " + describe(servers_[it->second.server]) + " is for another question; ignored");
    return;
  }
  Pending p = std::move(it->second);
  pending_.erase(it);
  const Question& q = p.query.question;

  std::vector<ResolvedAddress> admitted;
  for (const ResolvedAddress& a : r.addresses) {
    if (std::optional<std::string> why = answer_refusal(rules_, a.address)) {
      log_.refused(dns_rebind(q.qname, a.address, *why),
                   "rebind " + q.qname + " " + format_address(a.address));
    } else {
      admitted.push_back(a);
    }
  }
  // The set update is committed before the answer goes out: the program connects as soon as
  // it has the answer, and the filter must already know the address then.
  std::string commands = add_elements(rules_, q.qname, admitted);
  if (!commands.empty()) {
    std::string err = commit_(commands);
    if (!err.empty()) {
      fprintf(stderr, "sandbox-net: adding the addresses of %s to the filter failed: %s\n", q.qname.c_str(),
              err.c_str());
      reply(p.client, error_response(p.query, Rcode::kServFail), true);
      return;
    }
  }
  Bytes answer(packet.begin(), packet.end());
  set_message_id(answer, p.client_id);
  reply(p.client, answer, true);
}

void DnsProxy::reply(const Client& client, const Bytes& message, bool was_forwarded) {
  if (!client.tcp) {
    // A UDP client that went away, or a full socket buffer: the client will ask again.
    sendto(client.udp_fd, message.data(), message.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
           reinterpret_cast<const sockaddr*>(&client.addr), client.addrlen);
    return;
  }
  auto it = tcp_.find(client.conn);
  if (it == tcp_.end()) return;
  TcpClient& c = it->second;
  if (was_forwarded && c.waiting > 0) --c.waiting;
  c.out.push_back(static_cast<uint8_t>(message.size() >> 8));
  c.out.push_back(static_cast<uint8_t>(message.size()));
  c.out.insert(c.out.end(), message.begin(), message.end());
  flush_tcp(client.conn);
  close_tcp_if_done(client.conn);
}

}  // namespace sandbox::netpolicy
