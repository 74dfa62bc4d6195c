// sandbox-net's setup steps, in the order net_main.cc runs them. Each throws HelperError with
// one line saying what failed and what to do (it becomes "error: ..." on the status fd).
#pragma once

#include <sys/types.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "netpolicy/dns_proxy.h"
#include "netpolicy/rules.h"
#include "netpolicy/upstream.h"

namespace sandbox::netpolicy {

class HelperError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct HelperOptions {
  pid_t target = 0;
  bool verbose = false;
  std::string resolv_conf = "/etc/resolv.conf";
  std::vector<std::string> upstreams;  // --upstream ADDR[#PORT], a debugging option
};

HelperOptions parse_helper_args(int argc, char** argv);

// The rules, one per line, up to an empty line. Reads byte by byte: what follows the empty
// line must stay in the pipe (stdin is then only watched for EOF).
std::vector<Rule> read_rules(int fd);

// --upstream, or the nameservers of the resolv.conf file.
std::vector<Upstream> load_upstreams(const HelperOptions& options);

// Connected UDP sockets to each server, in the CURRENT (the host's) network namespace.
// Servers that cannot be reached from here (no IPv6 route, ...) are left out; none left is an
// error.
std::vector<UpstreamSocket> connect_upstreams(const std::vector<Upstream>& servers, bool verbose);

// setns() into the user and network namespaces of `target` through a pidfd. Afterwards this
// process has every capability in the sandbox's user namespace (it is its owner), and none
// anywhere else.
void join_sandbox_namespaces(pid_t target);

// UDP and TCP sockets on 127.0.0.1:53 and [::1]:53 in the current network namespace. The IPv6
// ones are left out when the namespace has no IPv6.
Listeners bind_listeners(bool verbose);

// Once everything is bound: keeps only CAP_NET_ADMIN (to add addresses to the filter's sets),
// drops every other capability from all sets and the bounding set, and sets no_new_privs. The
// capabilities only ever counted inside the sandbox's namespaces; this narrows what a bug in
// the DNS code could do there.
void keep_only_net_admin();

}  // namespace sandbox::netpolicy
