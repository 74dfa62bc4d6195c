// Why the kernel refused us a user namespace, and the one command that fixes it.
//
// A refused clone(CLONE_NEWUSER) or id-map write has half a dozen causes that look the same
// from errno alone: a Debian/old-Ubuntu sysctl, a zero or exhausted user.max_user_namespaces,
// Ubuntu's AppArmor restriction, an AppArmor profile around the caller, SELinux, a container
// runtime's seccomp filter. The host says which one in a few files under /proc and /sys;
// read_userns_host() reads them (through an injectable reader, for tests) and
// diagnose_userns() turns them into the cause and the fix. diagnose_userns() is pure.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace sandbox::launcher {

// The step that failed.
enum class UsernsStep {
  kClone,      // clone(2)/unshare(2) with CLONE_NEWUSER, in the parent
  kSetgroups,  // writing "deny" to /proc/self/setgroups, in the child
  kIdMap,      // writing /proc/self/uid_map or gid_map, in the child
};

// The host's facts, each the raw text of its file, or nullopt when the file is missing or
// unreadable (a missing file is itself a fact: no such sysctl on this kernel).
struct UsernsHost {
  std::optional<std::string> unprivileged_userns_clone;  // /proc/sys/kernel/unprivileged_userns_clone
  std::optional<std::string> max_user_namespaces;        // /proc/sys/user/max_user_namespaces
  std::optional<std::string> apparmor_restrict;  // /proc/sys/kernel/apparmor_restrict_unprivileged_userns
  std::optional<std::string> selinux_enforce;    // /sys/fs/selinux/enforce
  std::optional<std::string> lsm_label;          // /proc/self/attr/apparmor/current, else attr/current
  std::optional<std::string> proc_status;        // /proc/self/status (Seccomp:)
  std::optional<std::string> uid_map;            // /proc/self/uid_map: are we nested already?
  std::optional<std::string> apparmor_profile;   // kAppArmorProfileFile, the profile we ship
  std::optional<std::string> apparmor_loaded;    // /sys/kernel/security/apparmor/profiles
  std::string exe;                               // /proc/self/exe
};

inline constexpr const char* kAppArmorProfileFile = "/etc/apparmor.d/sandbox";

using ReadHostFile = std::function<std::optional<std::string>(const std::string& path)>;

// Reads the facts through `read` (one call per path above; `exe` is left to the caller).
UsernsHost read_userns_host(const ReadHostFile& read);
// The same from the real files, and readlink(/proc/self/exe).
UsernsHost read_userns_host();

struct UsernsDiagnosis {
  bool known = false;  // false: none of the known causes fits; the caller keeps its generic hint
  std::string cause;   // "user.max_user_namespaces is 0 here: ..."
  std::string fix;     // "`sudo sysctl -w user.max_user_namespaces=15000`"
  // "CAUSE; fix: FIX", for SetupError::hint
  std::string hint() const { return cause + "; fix: " + fix; }
};

UsernsDiagnosis diagnose_userns(UsernsStep step, int err, const UsernsHost& host);

// The step an operation name of ours stands for ("clone", "write uid_map", ...), if any.
std::optional<UsernsStep> userns_step_for(const std::string& op);

// hint_for() (launcher/error.h), except that a refused user namespace (clone, setgroups,
// uid_map, gid_map) is diagnosed from the host's files: the exact cause and its fix.
// Reads /proc and /sys for those operations only. sys_error() uses it.
std::string diagnosed_hint(const std::string& op, int err);

}  // namespace sandbox::launcher
