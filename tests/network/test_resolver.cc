// Runs before main() (tests/integration/main.cc, which stages the launcher and drops to the
// user `sandbox-test` for good): as root, moves this process into a mount namespace of its own
// in which /etc/resolv.conf is the test network's (`nameserver 203.0.113.53`, written by
// fixture.sh up). Every launcher the tests start inherits that namespace, so the sandbox's
// resolver forwards to the fixture's dnsmasq; the host's own /etc/resolv.conf is untouched.
// It also reads nettool.py while still root (the source tree may not be readable by the test
// user).
//
// A constructor, not a main() of our own, so that the integration tier's main.cc is reused
// unchanged. It runs before any thread exists (unshare(CLONE_NEWNS) needs that), and uses no
// C++ objects with dynamic initialisers (their order relative to this is unspecified).
#include "tests/network/network.h"

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>

namespace sandbox::nt {

namespace {

char g_error[1024];        // "" when the test resolv.conf is in place
bool g_attempted = false;  // false: not root, or only listing tests
char* g_nettool = nullptr;

bool listing_tests() {
  const int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  static char buf[65536];
  const ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(strlen(buf + i)) + 1)
    if (strcmp(buf + i, "--gtest_list_tests") == 0) return true;
  return false;
}

char* slurp(const char* path) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  size_t cap = 1 << 16, len = 0;
  char* text = static_cast<char*>(malloc(cap + 1));
  for (ssize_t n; text && (n = read(fd, text + len, cap - len)) > 0;) {
    len += static_cast<size_t>(n);
    if (len == cap) text = static_cast<char*>(realloc(text, (cap *= 2) + 1));
  }
  close(fd);
  if (text) text[len] = '\0';
  return text;
}

void set_error(const char* what, const char* path, int err) {
  snprintf(g_error, sizeof(g_error), "%s %s: %s", what, path, strerror(err));
}

__attribute__((constructor)) void enter_test_resolver() {
  g_nettool = slurp(SANDBOX_NT_SOURCE_DIR "/nettool.py");
  if (geteuid() != 0 || listing_tests()) return;
  g_attempted = true;
  if (access(kTestResolvConf, R_OK) != 0) {
    snprintf(g_error, sizeof(g_error),
             "%s is missing: the test network is not up (as root: %s/fixture.sh up; CTest runs it "
             "as the fixture test network_fixture_up)",
             kTestResolvConf, SANDBOX_NT_SOURCE_DIR);
    return;
  }
  if (unshare(CLONE_NEWNS) != 0) return set_error("unshare(CLONE_NEWNS)", "", errno);
  // Nothing mounted here may reach the host's namespace.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0)
    return set_error("make / a slave mount", "/", errno);
  // A symlinked resolv.conf (systemd-resolved, resolvconf) is covered at its target.
  char target[PATH_MAX];
  if (!realpath("/etc/resolv.conf", target)) return set_error("resolve", "/etc/resolv.conf", errno);
  if (mount(kTestResolvConf, target, nullptr, MS_BIND, nullptr) != 0)
    return set_error("bind the test resolv.conf over", target, errno);
}

}  // namespace

const char* resolver_setup_error() {
  if (!g_attempted) return "";
  return g_error;
}

bool resolver_setup_attempted() { return g_attempted; }

std::string nettool_source() { return g_nettool ? g_nettool : ""; }

}  // namespace sandbox::nt
