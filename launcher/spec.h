// SandboxSpec: the one immutable description of a sandbox, resolved from CLI + profile + host
// facts before anything forks. The child reads only this (never YAML, argv or environ).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "desktop/dbus_proxy.h"
#include "profiles/profile.h"

namespace sandbox::launcher {

enum class MountKind {
  kTmpfs,        // a fresh tmpfs at `target`; `data` holds fsconfig options (mode=..., size=...)
  kBind,         // bind the host path `source` at `target` (recursive)
  kOverlayHome,  // overlay at `target`: lower = host `source`, upper/work = `layer_dir`/upper,work
                 // (or a tmpfs layer when `layer_dir` is empty: the ephemeral home)
  kProc,         // a fresh procfs for the sandbox's pid namespace
  kDevNode,      // bind the host device node `source` at `target`
  kDevpts,       // a new devpts instance
  kSymlink,      // a symlink at `target` whose text is `source`
  kDir,          // an empty directory at `target` (mode in `data`, octal)
  kHide,         // `target`, if it exists inside, covered by an empty read-only dir or file
  kConsole,      // the sandbox's own pty (see pty.h) bound at `target`, so ttyname() finds it
  kDbusSocket,   // the xdg-dbus-proxy socket of bus `data` ("session", "system"), bound at
                 // `target` (the launcher starts the proxy: desktop/dbus_proxy.h)
  kFile,         // a read-only file holding `data`, bound at `target` (made if missing)
  kXauthority,   // the host Xauthority `source` reduced to display `data` ("NUMBER:HOSTNAME"),
                 // written as a new file at `target`
};

// How a host `source` path may be resolved: a symlink never leads a mount outside this.
enum class SourceScope {
  kSystem,       // the host system: symlinks are followed, but never out of the host root
  kHome,         // beneath the real home: symlinks inside the home are followed, escapes refused
  kNoSymlinks,   // any other user-named path: no symlink at all on the way
};

struct MountStep {
  MountKind kind = MountKind::kTmpfs;
  std::string target;  // absolute, inside the sandbox
  std::string source;  // absolute host path (kBind, kDevNode, kOverlayHome lower), link text
  std::string data;    // tmpfs options, or the dir mode
  std::string layer_dir;  // kOverlayHome: the persistent layer (host path), "" = ephemeral
  SourceScope scope = SourceScope::kSystem;
  bool read_only = false;
  bool optional = false;      // kBind: skip when the source does not exist
  bool target_in_home = false;  // resolve `target` beneath the sandbox's home (its symlinks
                                // come from the real home or the app's layer)
  std::string why;     // who asked for it: "system", "home", "profile rw", "--hide", ...
};

struct SandboxSpec {
  std::string app;          // names the persistent layer and the instance
  std::string profile_name;
  std::string profile_file;
  std::vector<std::string> profile_files;  // every file merged (extends), bases first
  std::string hostname;

  std::vector<std::string> argv;  // argv[0] is looked up in PATH of `env` when it has no '/'
  std::vector<std::string> env;   // "NAME=value", the app's whole environment
  std::string cwd;                // tried first; falls back to `home`

  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;         // the home path inside (same as the host's real path)
  profiles::HomeMode home_mode = profiles::HomeMode::kOverlay;
  std::string layer_dir;    // host path of the persistent layer, "" when none
  // Which overlayfs mounts the home: the kernel's, else (where the kernel refuses it in a
  // user namespace) fuse-overlayfs, run by the launcher outside the sandbox.
  enum class OverlayDriver { kAuto, kKernel, kFuse } overlay_driver = OverlayDriver::kAuto;
  std::string fuse_overlayfs;  // the host's fuse-overlayfs program, "" when not installed
  unsigned long long home_size = 0;  // bytes, cap of an ephemeral layer or tmpfs home; 0 = none
  std::string state_dir;    // the launcher's state tree, hidden in every sandbox
  std::string instances_dir;  // where running sandboxes are recorded (instance.h)

  profiles::NetworkMode network = profiles::NetworkMode::kNone;
  // network.mode filtered: the rules as written (checked by the planner with
  // netpolicy::parse_rule), the ports published on the host's 127.0.0.1, and the programs
  // that make it: pasta (connectivity), our sandbox-net (egress filter and resolver).
  std::vector<std::string> net_allow;
  std::vector<unsigned> publish;
  std::string pasta;
  std::string net_helper;
  std::string net_log;  // --net-log FILE ("" = none)
  profiles::SeccompPolicy seccomp = profiles::SeccompPolicy::kDefault;
  bool nested_userns = false;

  std::vector<MountStep> mounts;  // in order

  // The caller sits at a terminal (stdin and stdout): the app gets a pty of its own.
  bool terminal = false;

  bool verbose = false;
  std::vector<std::string> notes;  // what the host lacks of what the profile grants
  std::vector<desktop::BusProxy> dbus;  // buses to proxy (socket paths are chosen at run time)
  std::string dbus_proxy;               // the xdg-dbus-proxy program
  profiles::Limits limits;              // the profile's, with the command line's on top
};

}  // namespace sandbox::launcher
