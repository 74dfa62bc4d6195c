// Writing a whole file so that a reader sees the old one or the new one, never a part: a temp
// file in the same directory, renamed over the target. One implementation for every part of
// the project (the JSON status record, the profile cache); header-only, no dependencies.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace sandbox {

// Writes all of `data` to `fd`; "" or strerror of the failure.
inline std::string write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::strerror(n < 0 ? errno : EIO);
    done += static_cast<size_t>(n);
  }
  return "";
}

// Replaces `path` with `data` (mode `mode`); `durable`: fsync before the rename. Returns ""
// or what failed ("create a file in DIR: ...", "write PATH: ..."); the temp file never stays.
inline std::string write_file_atomically(const std::string& path, const std::string& data,
                                         mode_t mode, bool durable) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  std::string tmp = path + ".tmp-XXXXXX";  // next to the target, named after it
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);  // O_EXCL: never an existing file or link
  if (fd < 0) return "create a file in " + dir + ": " + std::strerror(errno);
  std::string err = ::fchmod(fd, mode) == 0 ? write_all(fd, data) : std::strerror(errno);
  if (err.empty() && durable && ::fsync(fd) != 0) err = std::strerror(errno);
  if (::close(fd) != 0 && err.empty()) err = std::strerror(errno);
  if (err.empty() && ::rename(tmp.c_str(), path.c_str()) != 0) err = std::strerror(errno);
  if (err.empty()) return "";
  ::unlink(tmp.c_str());
  return "write " + path + ": " + err;
}

}  // namespace sandbox
