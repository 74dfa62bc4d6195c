// Running sandboxes: each launcher records its sandbox under $XDG_RUNTIME_DIR/sandbox/<id>/
// (or, without XDG_RUNTIME_DIR, under the hidden state tree) and holds a lock on the record
// for as long as it runs; a record whose lock is free belongs to a launcher that died and is
// cleaned up by whoever finds it. The app's layer has a lock of its own, held by the launcher
// that mounted it: one overlay upper dir must not be mounted twice.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "launcher/host_facts.h"
#include "launcher/spec.h"
#include "launcher/sys.h"

namespace sandbox::launcher {

struct InstanceRecord {
  std::string id;          // APP-xxxxxx
  std::string app;
  std::string profile;
  pid_t launcher_pid = 0;
  pid_t init_pid = 0;      // pid 1 of the sandbox, as the host sees it
  unsigned long long init_start = 0;  // its start time (/proc/PID/stat field 22): pid reuse guard
  long long started = 0;   // unix time
  std::string seccomp = "default";
  bool nested_userns = false;
  bool own_network = true;
  std::string network = "none";  // none, host, filtered
  std::string home;
  std::string cwd;
  std::string cgroup;      // the sandbox's cgroup directory when it has limits, else ""
  std::vector<std::string> env;

  std::string dir;         // where the record lives (not serialized)
};

// key=value lines; values escape '\\' and '\n'. Pure.
std::string encode_record(const InstanceRecord& r);
std::optional<InstanceRecord> decode_record(const std::string& text);

std::string instances_dir(const HostFacts& host);

// The launcher's hold on its record: written atomically, locked, removed on destruction.
class InstanceHandle {
 public:
  InstanceHandle() = default;
  InstanceHandle(InstanceHandle&&) = default;
  InstanceHandle& operator=(InstanceHandle&&) = default;
  ~InstanceHandle();
  const std::string& id() const { return id_; }
  const std::string& dir() const { return dir_; }

  // Creates BASE/<id>/ (BASE from instances_dir(); its parent too, if missing). Throws
  // SetupError.
  static InstanceHandle create(const std::string& base, InstanceRecord record);

 private:
  std::string dir_;
  std::string id_;
  Fd lock_;
};

// The layer lock (STATE/APP/lock), taken without waiting. nullopt when another launcher
// holds it. Throws SetupError when the lock file cannot be opened.
std::optional<Fd> try_lock_layer(const std::string& layer_root);

// Live records, oldest first; records of dead launchers are removed on the way.
std::vector<InstanceRecord> list_instances(const HostFacts& host);

// A record by id, or by app name when exactly one instance of that app runs.
std::optional<InstanceRecord> find_instance(const HostFacts& host, const std::string& id_or_app);

// True while a launcher holds APP's layer or a live record names APP.
bool app_is_running(const HostFacts& host, const std::string& app);

// The main process of the sandbox (the child of its pid 1), as the host sees it; 0 if gone.
pid_t main_process_of(const InstanceRecord& r);

// Start time of a process (/proc/PID/stat field 22, clock ticks since boot); 0 when gone.
unsigned long long process_start_time(pid_t pid);

// Whether the record's pid 1 is still the same process.
bool instance_alive(const InstanceRecord& r);

// Sum of the resident memory (kB) of pid 1 and all its descendants.
unsigned long long instance_rss_kb(const InstanceRecord& r);

}  // namespace sandbox::launcher
