#include "netpolicy/helper_setup.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sandbox::netpolicy {
namespace {

constexpr int kSocketsPerServer = 4;

std::string err_text(int err) {
  return std::strerror(err);
}

sockaddr_storage socket_address(const Address& a, uint16_t port, uint32_t scope, socklen_t& len) {
  sockaddr_storage ss{};
  if (a.family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, a.bytes.data(), 4);
    len = sizeof *sin;
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    sin6->sin6_scope_id = scope;
    std::memcpy(&sin6->sin6_addr, a.bytes.data(), 16);
    len = sizeof *sin6;
  }
  return ss;
}

}  // namespace

HelperOptions parse_helper_args(int argc, char** argv) {
  HelperOptions o;
  const char* usage = "usage: sandbox-net --target PID [--verbose] (sandbox-net is started by sandbox)";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw HelperError(a + " needs a value; " + usage);
      return argv[++i];
    };
    if (a == "--target") {
      std::string v = value();
      char* end = nullptr;
      long pid = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || pid <= 0 || pid > 0x3fffffff)
        throw HelperError("--target \"" + v + "\" is not a process id; " + usage);
      o.target = static_cast<pid_t>(pid);
    } else if (a == "--verbose" || a == "-v") {
      o.verbose = true;
    } else if (a == "--resolv-conf") {
      o.resolv_conf = value();
    } else if (a == "--upstream") {
      o.upstreams.push_back(value());
    } else {
      throw HelperError("unknown argument \"" + a + "\"; " + usage);
    }
  }
  if (o.target == 0) throw HelperError(std::string("--target PID is missing; ") + usage);
  return o;
}

std::vector<Rule> read_rules(int fd) {
  std::vector<Rule> rules;
  std::string line;
  for (;;) {
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw HelperError("reading the rules from stdin: " + err_text(errno));
    if (n == 0)
      throw HelperError(
          "stdin ended before the empty line that ends the rules; the launcher must send the rules, then an "
          "empty line");
    if (c != '\n') {
      if (line.size() > 4096) throw HelperError("a rule on stdin is longer than 4096 bytes");
      line += c;
      continue;
    }
    if (line.empty()) return rules;
    try {
      rules.push_back(parse_rule(line));
    } catch (const RuleError& e) {
      throw HelperError(e.what());
    }
    line.clear();
  }
}

std::vector<Upstream> load_upstreams(const HelperOptions& o) {
  std::vector<Upstream> out;
  if (!o.upstreams.empty()) {
    for (const std::string& u : o.upstreams) {
      try {
        out.push_back(parse_upstream(u));
      } catch (const RuleError& e) {
        throw HelperError(std::string("--upstream: ") + e.what());
      }
    }
    return out;
  }
  std::ifstream in(o.resolv_conf);
  if (!in) {
    throw HelperError("cannot read " + o.resolv_conf + ": " + err_text(errno) +
                      "; the sandbox's DNS forwards allowed names to the host's nameservers listed there");
  }
  std::stringstream text;
  text << in.rdbuf();
  out = parse_resolv_conf(text.str());
  if (out.empty()) {
    throw HelperError("no nameserver line in " + o.resolv_conf +
                      "; the sandbox's DNS forwards allowed names to the host's nameservers: add one, or use "
                      "network.mode: host");
  }
  return out;
}

std::vector<UpstreamSocket> connect_upstreams(const std::vector<Upstream>& servers, bool verbose) {
  std::vector<UpstreamSocket> out;
  std::string last_error;
  for (size_t s = 0; s < servers.size(); ++s) {
    const Upstream& u = servers[s];
    uint32_t scope = 0;
    if (!u.scope.empty() && (scope = if_nametoindex(u.scope.c_str())) == 0) {
      last_error = describe(u) + ": no interface " + u.scope;
      if (verbose) fprintf(stderr, "sandbox-net: skipping DNS server %s\n", last_error.c_str());
      continue;
    }
    for (int k = 0; k < kSocketsPerServer; ++k) {
      UniqueFd fd(socket(u.address.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      socklen_t len = 0;
      sockaddr_storage ss = socket_address(u.address, u.port, scope, len);
      if (!fd.valid() || connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0) {
        last_error = describe(u) + ": " + err_text(errno);
        if (verbose) fprintf(stderr, "sandbox-net: skipping DNS server %s\n", last_error.c_str());
        break;
      }
      out.push_back({s, std::move(fd)});
    }
  }
  if (out.empty()) {
    throw HelperError("cannot reach any DNS server of the host (" + last_error +
                      "); check the nameserver lines of /etc/resolv.conf");
  }
  return out;
}

void join_sandbox_namespaces(pid_t target) {
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, target, 0)));
  if (!pidfd.valid()) {
    int err = errno;
    throw HelperError("pidfd_open(" + std::to_string(target) + "): " + err_text(err) +
                      (err == ESRCH ? "; the sandbox exited before its network was set up"
                                    : "; Linux 5.3 or later is needed"));
  }
  // One setns() for both: the user namespace first (kernel/nsproxy.c orders it so), which gives
  // the capabilities that joining its network namespace needs.
  if (setns(pidfd.get(), CLONE_NEWUSER | CLONE_NEWNET) < 0) {
    int err = errno;
    throw HelperError("setns(pid " + std::to_string(target) + ", user+net): " + err_text(err) +
                      (err == EPERM
                           ? "; sandbox-net must run as the user who created the sandbox, single-threaded"
                       : err == EINVAL ? "; Linux 5.8 or later is needed (setns with a pidfd)"
                                       : ""));
  }
}

Listeners bind_listeners(bool verbose) {
  Listeners out;
  struct Spec {
    const char* address;
    int type;
  };
  for (Spec spec : {Spec{"127.0.0.1", SOCK_DGRAM}, Spec{"127.0.0.1", SOCK_STREAM}, Spec{"::1", SOCK_DGRAM},
                    Spec{"::1", SOCK_STREAM}}) {
    Address a = *parse_address(spec.address);
    std::string where = format_endpoint(a, 53) + (spec.type == SOCK_DGRAM ? "/udp" : "/tcp");
    UniqueFd fd(socket(a.family, spec.type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    int one = 1;
    if (fd.valid() && a.family == AF_INET6) setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (fd.valid() && spec.type == SOCK_STREAM)
      setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    socklen_t len = 0;
    sockaddr_storage ss = socket_address(a, 53, 0, len);
    if (!fd.valid() || bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0 ||
        (spec.type == SOCK_STREAM && listen(fd.get(), 16) < 0)) {
      int err = errno;
      if (a.family == AF_INET6 && (err == EAFNOSUPPORT || err == EADDRNOTAVAIL)) {
        if (verbose)
          fprintf(stderr, "sandbox-net: no IPv6 in the sandbox (%s: %s)\n", where.c_str(),
                  err_text(err).c_str());
        continue;
      }
      throw HelperError(
          "binding the sandbox's DNS server on " + where + ": " + err_text(err) +
          (err == EADDRNOTAVAIL ? "; the sandbox's loopback must be up before sandbox-net starts" : ""));
    }
    (spec.type == SOCK_DGRAM ? out.udp : out.tcp).push_back(std::move(fd));
  }
  return out;
}

void keep_only_net_admin() {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    throw HelperError("prctl(PR_SET_NO_NEW_PRIVS): " + err_text(errno));
  // Up to the first capability this kernel does not know (EINVAL).
  for (int cap = 0; cap < 64; ++cap) {
    if (cap == CAP_NET_ADMIN) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      if (errno == EINVAL) break;
      throw HelperError("prctl(PR_CAPBSET_DROP, " + std::to_string(cap) + "): " + err_text(errno));
    }
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  data[CAP_TO_INDEX(CAP_NET_ADMIN)].effective = CAP_TO_MASK(CAP_NET_ADMIN);
  data[CAP_TO_INDEX(CAP_NET_ADMIN)].permitted = CAP_TO_MASK(CAP_NET_ADMIN);
  if (syscall(SYS_capset, &header, data) < 0) throw HelperError("capset: " + err_text(errno));
}

}  // namespace sandbox::netpolicy
