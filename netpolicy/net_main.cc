// sandbox-net: the egress filter and DNS resolver of a `network.mode: filtered` sandbox.
// The launcher starts it (see launcher/ and man/sandbox-profile.5); the contract:
//
//   sandbox-net --target PID [--verbose]
//   stdin: the rules, one per line, then an empty line; EOF later means "the sandbox ended".
//   fd 3:  "ready\n" once the filter is loaded and the DNS listeners are bound, or
//          "error: <what failed and what to do>\n" and exit 125.
//   fd 4:  the denial log, one line per refusal.
//
// Debugging options, for running it by hand: --upstream ADDR[#PORT] (repeatable) replaces the
// nameservers of /etc/resolv.conf, --resolv-conf FILE reads another file.
//
// It runs as the unprivileged user who started the sandbox. It opens its upstream DNS sockets
// in the host's network namespace first, then joins the sandbox's user and network namespaces
// (their owner gets every capability there), loads the nftables ruleset and binds port 53.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include "netpolicy/denial_log.h"
#include "netpolicy/dns_proxy.h"
#include "netpolicy/helper_setup.h"
#include "netpolicy/nflog_socket.h"
#include "netpolicy/nft.h"
#include "netpolicy/nft_loader.h"
#include "netpolicy/packet.h"

namespace sandbox::netpolicy {
namespace {

constexpr int kStatusFd = 3;
constexpr int kLogFd = 4;
// Enough for an IPv6 header, a few extension headers and the ports of TCP or UDP.
constexpr uint32_t kNflogCopyBytes = 80;

bool fd_open(int fd) {
  return fcntl(fd, F_GETFD) >= 0;
}

void write_status(const std::string& line) {
  std::string text = line + "\n";
  if (write(kStatusFd, text.data(), text.size()) < 0) {
    // The launcher is gone; PR_SET_PDEATHSIG ends us soon.
  }
  close(kStatusFd);
}

void read_nflog(int fd, DenialLog& log, bool verbose) {
  alignas(4) uint8_t buf[65536];
  for (int i = 0; i < 64; ++i) {
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      // ENOBUFS: the kernel dropped messages that did not fit; the log misses some lines.
      if (errno == ENOBUFS && verbose)
        fprintf(stderr, "sandbox-net: NFLOG overrun; some refusals were not logged\n");
      if (errno == ENOBUFS || errno == EINTR) continue;
      return;
    }
    for (std::span<const uint8_t> payload :
         nflog_payloads(std::span<const uint8_t>(buf, static_cast<size_t>(n)))) {
      if (std::optional<RefusedPacket> p = decode_ip_packet(payload)) {
        std::string what = describe(*p);
        log.refused(what, "packet " + what);
      }
    }
  }
}

int run(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  bool status_open = fd_open(kStatusFd);
  HelperOptions options;
  std::vector<Rule> rules;
  std::vector<Upstream> servers;
  std::vector<UpstreamSocket> upstream;
  std::unique_ptr<Nftables> nft;
  Listeners listeners;
  UniqueFd nflog;
  try {
    options = parse_helper_args(argc, argv);
    rules = read_rules(STDIN_FILENO);
    servers = load_upstreams(options);
    upstream = connect_upstreams(servers, options.verbose);  // still in the host's namespace
    join_sandbox_namespaces(options.target);
    try {
      nft = std::make_unique<Nftables>();
    } catch (const std::exception& e) {
      throw HelperError(std::string("libnftables: ") + e.what());
    }
    if (std::string err = nft->run(ruleset(rules)); !err.empty()) {
      throw HelperError(
          "loading the nftables filter into the sandbox failed: " + err +
          "; the kernel needs nf_tables with inet, ct, reject, log and limit "
          "(CONFIG_NF_TABLES_INET, CONFIG_NFT_CT, CONFIG_NFT_REJECT_INET, CONFIG_NFT_LOG, CONFIG_NFT_LIMIT)");
    }
    listeners = bind_listeners(options.verbose);
    try {
      nflog = open_nflog(kLogGroup, kNflogCopyBytes);
    } catch (const std::exception& e) {
      // The filter works without it; only the "refused tcp ..." lines are missing.
      fprintf(stderr,
              "sandbox-net: refused connections will not be logged: %s (CONFIG_NETFILTER_NETLINK_LOG)\n",
              e.what());
    }
    keep_only_net_admin();
  } catch (const std::exception& e) {
    if (status_open) write_status(std::string("error: ") + e.what());
    if (options.verbose || !status_open) fprintf(stderr, "sandbox-net: error: %s\n", e.what());
    return 125;
  }
  if (status_open) write_status("ready");
  if (options.verbose)
    fprintf(stderr, "sandbox-net: ready: %zu rules, %zu DNS servers\n", rules.size(), servers.size());

  DenialLog log(fd_open(kLogFd) ? kLogFd : STDERR_FILENO);
  Nftables* nft_ptr = nft.get();
  DnsProxy proxy(
      rules, servers, std::move(upstream), std::move(listeners),
      [nft_ptr](const std::string& commands) { return nft_ptr->run(commands); }, log, options.verbose);
  bool done = false;
  while (!done) {
    std::vector<PollItem> items;
    items.push_back({{STDIN_FILENO, POLLIN, 0}, [&done](short revents) {
                       char buf[512];
                       ssize_t n = (revents & POLLNVAL) ? 0 : read(STDIN_FILENO, buf, sizeof buf);
                       if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) done = true;
                     }});
    if (nflog.valid()) {
      items.push_back(
          {{nflog.get(), POLLIN, 0}, [&](short) { read_nflog(nflog.get(), log, options.verbose); }});
    }
    proxy.watch(items);
    std::vector<pollfd> fds;
    for (const PollItem& item : items) fds.push_back(item.pfd);
    int n = poll(fds.data(), fds.size(), proxy.timeout_ms(monotonic_ms()));
    if (n < 0 && errno != EINTR) {
      fprintf(stderr, "sandbox-net: poll: %s\n", std::strerror(errno));
      return 125;
    }
    for (size_t i = 0; n > 0 && i < fds.size(); ++i) {
      if (fds[i].revents) items[i].on_ready(fds[i].revents);
    }
    proxy.expire(monotonic_ms());
  }
  if (options.verbose && log.dropped() > 0) {
    fprintf(stderr, "sandbox-net: %lu denial log lines were dropped (the reader was too slow)\n",
            log.dropped());
  }
  return 0;
}

}  // namespace
}  // namespace sandbox::netpolicy

int main(int argc, char** argv) {
  try {
    return sandbox::netpolicy::run(argc, argv);
  } catch (const std::exception& e) {
    fprintf(stderr, "sandbox-net: %s\n", e.what());
    return 125;
  }
}
