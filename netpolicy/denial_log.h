// sandbox-net's denial log (fd 4): one line per refusal, written as it happens.
#pragma once

#include <string>

#include "netpolicy/denials.h"

namespace sandbox::netpolicy {

class DenialLog {
 public:
  explicit DenialLog(int fd) : fd_(fd) {}
  // Writes "<time> refused <what>" unless a line with the same `key` went out less than a
  // second ago. Never blocks: when the reader falls behind, the line is dropped (counted), so
  // that DNS answers are never held up by the log.
  void refused(const std::string& what, const std::string& key);
  unsigned long dropped() const { return dropped_; }

 private:
  int fd_;
  RepeatFilter repeats_;
  unsigned long dropped_ = 0;
};

// Milliseconds on CLOCK_MONOTONIC, for deadlines.
int64_t monotonic_ms();

}  // namespace sandbox::netpolicy
