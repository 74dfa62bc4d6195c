// Resource limits with cgroup v2, without root: a child cgroup per sandbox in a subtree the
// caller may write (a delegated cgroup: systemd's Delegate=yes, a container), the sandbox's
// pid 1 born into it (clone3 CLONE_INTO_CGROUP), removed at exit. Where there is none, the
// rlimits that express part of it, and a warning (or an error, with limits.required).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "launcher/sys.h"
#include "profiles/profile.h"

namespace sandbox::launcher {

// The interface files to write for `limits`, in order. Pure.
//   memory -> memory.max, memory.swap.max 0 (so the limit holds: no escape into swap)
//   cpu    -> cpu.max "QUOTA 100000" (cores x the 100 ms period)
//   pids   -> pids.max;  io_weight -> io.weight "default N"
std::vector<std::pair<std::string, std::string>> cgroup_writes(const profiles::Limits& limits);

// The controllers those writes need ("memory", "cpu", "pids", "io"). Pure.
std::vector<std::string> controllers_needed(const profiles::Limits& limits);

bool wants_cgroup(const profiles::Limits& limits);

// "0::/user.slice/x.scope" lines of /proc/PID/cgroup -> "/user.slice/x.scope". Pure.
std::string cgroup2_path_of(const std::string& proc_cgroup);

// Counters read at exit.
struct CgroupUsage {
  unsigned long long memory_peak = 0;  // bytes (memory.peak, Linux 5.19+), 0 when unknown
  unsigned long long cpu_usec = 0;     // cpu.stat usage_usec
  unsigned long long oom_kills = 0;    // memory.events oom_kill
  unsigned long long ooms = 0;         // memory.events oom: the limit was hit and reclaim failed
  unsigned long long pids_max_hits = 0;  // pids.events max
  unsigned long long memory_current = 0;  // bytes, now
  unsigned long long pids_current = 0;
  unsigned long long pids_peak = 0;       // pids.peak (Linux 6.?), 0 when unknown
};

class SandboxCgroup {
 public:
  SandboxCgroup() = default;
  SandboxCgroup(SandboxCgroup&&) = default;
  SandboxCgroup& operator=(SandboxCgroup&&) = default;
  ~SandboxCgroup();  // removes the cgroup (waiting briefly for it to empty)

  // Finds a delegated parent and creates PARENT/sandbox-NAME with the limits written. On
  // failure returns nullopt and says why in `why_not`. Removes leftovers of launchers that
  // died (empty sandbox-* siblings) on the way.
  static std::optional<SandboxCgroup> create(const std::string& name, const profiles::Limits& limits,
                                             std::string& why_not);

  // A cgroup someone else made (systemd's scope): read, never removed.
  static SandboxCgroup adopt(const std::string& path);
  // The cgroup of process `pid` (cgroup v2), adopted.
  static std::optional<SandboxCgroup> of_process(pid_t pid);
  // Moves `pid` in (cgroup.procs). Returns false with errno set.
  bool add(pid_t pid) const;

  int fd() const { return dir_.get(); }         // for CLONE_INTO_CGROUP
  const std::string& path() const { return path_; }
  CgroupUsage usage() const;

 private:
  std::string path_;
  Fd dir_;
  bool owned_ = false;
};

// Applies limits.rlimits, and for `fallback` the rlimit approximations of the cgroup limits
// (memory -> RLIMIT_AS). Called in the app's process before execve. Throws SetupError.
void apply_rlimits_in_child(const profiles::Limits& limits, bool fallback);

}  // namespace sandbox::launcher
