#include "netpolicy/denials.h"

#include <cstdio>

#include "netpolicy/dns.h"

namespace sandbox::netpolicy {

std::string log_time(const timespec& realtime) {
  struct tm tm {};
  time_t secs = realtime.tv_sec;
  gmtime_r(&secs, &tm);
  char buf[64];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, realtime.tv_nsec / 1000000);
  return buf;
}

std::string refused_line(const timespec& realtime, const std::string& what) {
  return log_time(realtime) + " refused " + what + "\n";
}

std::string dns_not_allowed(const std::string& qname, uint16_t qtype) {
  return "dns " + (qname.empty() ? std::string(".") : qname) + " (" + qtype_name(qtype) + "): not allowed";
}

std::string dns_rebind(const std::string& qname, const Address& answer, const std::string& reason) {
  return "dns " + qname + " -> " + format_address(answer) + ": " + reason;
}

bool RepeatFilter::should_log(const std::string& key, int64_t now_ms) {
  auto it = last_.find(key);
  if (it != last_.end() && now_ms - it->second < window_ms_) return false;
  if (it == last_.end() && last_.size() >= max_keys_) {
    // Forget what is outside the window; if everything is recent, forget the oldest one.
    std::erase_if(last_, [&](const auto& kv) { return now_ms - kv.second >= window_ms_; });
    if (last_.size() >= max_keys_) {
      auto oldest = last_.begin();
      for (auto i = last_.begin(); i != last_.end(); ++i) {
        if (i->second < oldest->second) oldest = i;
      }
      last_.erase(oldest);
    }
  }
  last_[key] = now_ms;
  return true;
}

}  // namespace sandbox::netpolicy
