// `--json-status FILE` / `--json-status-fd N`: one JSON record of how a sandbox ran, for CI
// jobs and other programs (the fields are documented in sandbox(1), JSON STATUS).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace sandbox::launcher {

struct RunStatus {
  std::string version;
  std::string app, profile, profile_file;
  std::vector<std::string> command;
  std::string cwd;
  double started = 0, ended = 0;  // unix time, seconds with fractions
  int exit_code = 125;            // what `sandbox` exits with
  int signal = 0;                 // the signal that killed the app, 0 when it exited
  bool launcher_failed = false;   // exit_code 125 came from sandbox itself (setup failed)
  std::string error;              // then: its one-line message
  bool timed_out = false;
  double timeout = 0;             // limits.timeout, 0 = none
  bool memory_limit_hit = false;
  bool pids_limit_hit = false;
  std::string limits_backend;     // "systemd scope ...", "delegated cgroup ...", "rlimits", "none"
  std::optional<unsigned long long> peak_memory;  // bytes
  std::string peak_memory_source;                 // "cgroup" or "largest process"
  std::optional<double> cpu_seconds;              // user + system
  std::string network;                            // none, host, filtered
  std::vector<std::string> network_allow;
  std::optional<unsigned long> network_denials;   // filtered only
  std::string net_log;
  std::string home_mode;                          // where home writes went
  std::string home_layer;                         // overlay: the layer to review
  std::vector<std::string> writable_paths;        // the real paths it could write (rw)
};

// The record, one JSON object and a newline. Pure.
std::string format_status_json(const RunStatus& s);

// Writes it to `path` atomically (a temp file in the same directory, then rename) or to
// `fd`. Returns "" or what went wrong.
std::string write_status_file(const std::string& path, const std::string& json);
std::string write_status_fd(int fd, const std::string& json);

}  // namespace sandbox::launcher
