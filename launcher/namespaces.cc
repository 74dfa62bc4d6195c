#include "launcher/namespaces.h"

#include <net/if.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "launcher/error.h"
#include "launcher/sys.h"
#include "launcher/userns_diagnosis.h"

namespace sandbox::launcher {

std::string id_map_line(unsigned id) {
  return std::to_string(id) + " " + std::to_string(id) + " 1\n";
}

void write_id_maps_in_child(uid_t uid, gid_t gid) {
  auto write = [](const char* file, const std::string& text, const char* op) {
    try {
      write_file(file, text);
    } catch (SetupError& e) {
      e.op = op;
      e.hint = diagnosed_hint(op, e.err);
      throw;
    }
  };
  write("/proc/self/setgroups", "deny", "write setgroups");
  write("/proc/self/uid_map", id_map_line(uid), "write uid_map");
  write("/proc/self/gid_map", id_map_line(gid), "write gid_map");
}

void set_hostname_in_child(const std::string& name) {
  if (sethostname(name.data(), name.size()) != 0) throw sys_error("sethostname", name);
}

void bring_up_loopback_in_child() {
  Fd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) throw sys_error("socket", "lo");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0) throw sys_error("get flags of", "lo");
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0) throw sys_error("bring up", "lo");
}

void drop_privileges_in_child() {
  // The bounding set first: dropping from it needs CAP_SETPCAP, which goes with the rest.
  // Every capability the kernel knows, which may be more than CAP_LAST_CAP of our headers:
  // EINVAL marks the first number past the kernel's last.
  for (int cap = 0;; ++cap) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0) continue;
    if (errno == EINVAL && cap > 0) break;
    throw sys_error("drop bounding capability " + std::to_string(cap));
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    throw sys_error("clear ambient capabilities");
  cap_t empty = cap_init();
  if (empty == nullptr) throw sys_error("cap_init");
  const int rc = cap_set_proc(empty);
  const int err = errno;
  cap_free(empty);
  if (rc != 0) throw sys_error("drop capabilities", "", err);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) throw sys_error("set no_new_privs");
}

}  // namespace sandbox::launcher
