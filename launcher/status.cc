#include "launcher/status.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "common/atomic_file.h"
#include "launcher/explain.h"

namespace sandbox::launcher {

namespace {

std::string number(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

// "2026-12-04T19:30:00.123Z"
std::string iso_time(double t) {
  const time_t secs = static_cast<time_t>(t);
  tm utc{};
  gmtime_r(&secs, &utc);
  char buf[96];
  const int ms = static_cast<int>((t - static_cast<double>(secs)) * 1000);
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, ms);
  return buf;
}


}  // namespace

std::string format_status_json(const RunStatus& s) {
  std::string o = "{";
  auto field = [&o](const char* name, const std::string& value) {
    if (o.size() > 1) o += ", ";
    o += "\"" + std::string(name) + "\": " + value;
  };
  auto opt_str = [](const std::string& v) { return v.empty() ? std::string("null") : json_quote(v); };
  field("sandbox_version", json_quote(s.version));
  field("app", json_quote(s.app));
  field("profile", json_quote(s.profile));
  field("profile_file", opt_str(s.profile_file));
  field("command", json_list(s.command));
  field("cwd", json_quote(s.cwd));
  field("started", json_quote(iso_time(s.started)));
  field("ended", json_quote(iso_time(s.ended)));
  field("duration_s", number(s.ended - s.started, 3));
  field("exit_code", std::to_string(s.exit_code));
  field("signal", s.signal ? std::to_string(s.signal) : "null");
  field("launcher_failed", s.launcher_failed ? "true" : "false");
  field("error", opt_str(s.error));
  field("timed_out", s.timed_out ? "true" : "false");
  field("timeout_s", s.timeout > 0 ? number(s.timeout, 3) : "null");
  field("memory_limit_hit", s.memory_limit_hit ? "true" : "false");
  field("pids_limit_hit", s.pids_limit_hit ? "true" : "false");
  field("limits_backend", json_quote(s.limits_backend));
  field("peak_memory_bytes", s.peak_memory ? std::to_string(*s.peak_memory) : "null");
  field("peak_memory_source", opt_str(s.peak_memory_source));
  field("cpu_s", s.cpu_seconds ? number(*s.cpu_seconds, 3) : "null");
  field("network", json_quote(s.network));
  field("network_allow", json_list(s.network_allow));
  field("network_denials", s.network_denials ? std::to_string(*s.network_denials) : "null");
  field("net_log", opt_str(s.net_log));
  field("home_mode", json_quote(s.home_mode));
  field("home_layer", opt_str(s.home_layer));
  field("writable_paths", json_list(s.writable_paths));
  // Everything else the app could write (a tmpfs home, /tmp, /var/tmp, /dev/shm, the run
  // dir) was thrown away with the sandbox, and an overlay home's writes are in home_layer:
  // nothing outside writable_paths was written on the host.
  field("written_outside_workspace", "[]");
  return o + "}\n";
}

std::string write_status_file(const std::string& path, const std::string& json) {
  return write_file_atomically(path, json, 0644, /*durable=*/true);
}

std::string write_status_fd(int fd, const std::string& json) {
  const std::string err = write_all(fd, json);
  return err.empty() ? "" : "write the status to fd " + std::to_string(fd) + ": " + err;
}

}  // namespace sandbox::launcher
