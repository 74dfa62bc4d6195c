// What the planner needs to know about the host. Gathered once (reads only, no changes),
// passed by value into the pure planner so that unit tests can make up any host.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace sandbox::launcher {

struct RootEntry {
  std::string name;         // "bin", "usr", ...
  bool is_symlink = false;
  std::string link_target;  // when is_symlink
};

struct HostFacts {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user;
  std::string home;             // canonical (realpath) home
  std::string xdg_config_home;  // as set, or the default under home
  std::string xdg_data_home;
  std::string xdg_cache_home;
  std::string xdg_state_home;
  std::string xdg_runtime_dir;  // host value ("" when unset)
  std::string cwd;
  std::string share_dir;        // <exe>/../share/sandbox
  std::string exe_stamp;        // the launcher binary's identity: dev:ino:size:mtime:ctime
  std::vector<std::string> environ;  // "NAME=value"
  std::vector<RootEntry> root_entries;  // the system top-level entries that exist
  std::string resolv_conf_target;  // where /etc/resolv.conf leads when that is outside /etc
  std::string fuse_overlayfs;  // path of the fuse-overlayfs program, "" when not installed
  std::string dbus_proxy;      // path of xdg-dbus-proxy, "" when not installed
  std::string pasta;           // path of pasta (package passt), "" when not installed
  std::string net_helper;      // our sandbox-net helper (next to us, or <prefix>/libexec/sandbox)
  bool stdin_is_tty = false;
  bool stdout_is_tty = false;

  std::string hostname;  // the host's (the sandbox gets the profile's)

  // Reads the planner may make of the host's filesystem (display sockets, device nodes):
  // the real ones by default, made-up ones in tests.
  std::function<bool(const std::string&)> exists;
  std::function<std::vector<std::string>(const std::string&)> list_dir;

  std::string getenv(const std::string& name) const;  // "" when unset
};

// The top-level names the sandbox shows read-only from the host, when they exist.
const std::vector<std::string>& system_root_names();

// $XDG_DATA_HOME/sandbox: the layers, the profile cache, the fallback instance records.
// Every sandbox hides it (plan.cc), so nothing a sandboxed app does can change what is there.
std::string sandbox_state_dir(const HostFacts& host);

HostFacts gather_host_facts();

}  // namespace sandbox::launcher
