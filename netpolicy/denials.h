// The lines of the denial log (fd 4 of sandbox-net), and the filter that keeps one refused
// connection that a program retries from filling it. Pure: the caller passes the clock.
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <string>

#include "netpolicy/rules.h"

namespace sandbox::netpolicy {

// "2026-12-04T19:30:00.123Z" (UTC, milliseconds).
std::string log_time(const timespec& realtime);

// "<time> refused <what>\n".
std::string refused_line(const timespec& realtime, const std::string& what);

// What follows "refused " for the DNS refusals:
// "dns blocked.test (A): not allowed", "dns rebind.test -> 127.0.0.1: loopback or private address".
std::string dns_not_allowed(const std::string& qname, uint16_t qtype);
std::string dns_rebind(const std::string& qname, const Address& answer, const std::string& reason);

// Says whether a line for `key` should be written now: not when the same key was written less
// than `window_ms` ago (TCP SYN and DNS retries give one line). Remembers at most `max_keys`
// keys; the oldest are forgotten first.
class RepeatFilter {
 public:
  explicit RepeatFilter(int64_t window_ms = 1000, size_t max_keys = 4096)
      : window_ms_(window_ms), max_keys_(max_keys) {}
  bool should_log(const std::string& key, int64_t now_ms);

 private:
  int64_t window_ms_;
  size_t max_keys_;
  std::map<std::string, int64_t> last_;
};

}  // namespace sandbox::netpolicy
