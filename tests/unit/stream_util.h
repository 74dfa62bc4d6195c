// Test helper: what a command wrote to a tmpfile() stream.
#pragma once

#include <cstdio>
#include <string>

namespace sandbox::testing {

inline std::string drain(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) s.append(buf, n);
  return s;
}

}  // namespace sandbox::testing
