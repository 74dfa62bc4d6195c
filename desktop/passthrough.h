// What a profile's `display`, `audio`, `gpu` and `filesystem.dev` let through from the host,
// as a plan: sockets and device nodes to bind, environment to set or drop, and notes for what
// the host does not have (a display that is absent is skipped with a note, not an error).
// Pure: the host is seen through HostView, so tests can make one up.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "profiles/profile.h"

namespace sandbox::desktop {

struct Grant {
  enum class Kind {
    kSocket,      // a Unix socket (bound read-write: connecting is writing)
    kDevice,      // a device node, or a directory of them (/dev/dri)
    kReadOnly,    // a file or directory the drivers read (/sys/...)
    kXauthority,  // `host_path` filtered to the cookie of display `display`, written inside
  } kind;
  std::string host_path;
  std::string inside_path;
  std::string display;  // kXauthority: the display number ("0" for :0)
  std::string why;      // "wayland", "x11", "audio", "gpu", "filesystem.dev"
};

struct PassthroughPlan {
  std::vector<Grant> grants;
  std::vector<std::pair<std::string, std::string>> env_set;
  std::vector<std::string> env_unset;
  std::vector<std::string> notes;  // "no Wayland display on this host: skipped", ...
};

struct PassthroughRequest {
  std::vector<profiles::DisplayKind> display;
  bool audio = false;
  bool gpu = false;
  std::vector<std::string> devices;  // absolute, expanded
};

struct HostView {
  std::function<std::string(const std::string&)> getenv;  // "" when unset
  std::function<bool(const std::string&)> exists;         // lstat succeeds
  std::function<std::vector<std::string>(const std::string&)> list_dir;  // names, sorted
  std::string home;
  std::string runtime_dir;         // the host's XDG_RUNTIME_DIR ("" when unset)
  std::string runtime_dir_inside;  // the sandbox's
};

PassthroughPlan plan_passthrough(const PassthroughRequest& request, const HostView& host);

// The X display number of a DISPLAY value (":0", ":1.0", "unix:2"); "" for a display that is
// not local (host:0 is TCP, which the sandbox's network namespace cannot reach anyway).
std::string local_display_number(const std::string& display);

// An Xauthority file (Xau format: family, address, number, name, data; each a big-endian
// 16-bit length and bytes) reduced to the entries of display `number` for this host
// (FamilyLocal with `hostname`, or FamilyWild), each rewritten as FamilyWild so that it
// matches inside, where the host name is the profile's. Pure.
std::string filter_xauthority(const std::string& data, const std::string& number,
                              const std::string& hostname);

}  // namespace sandbox::desktop
