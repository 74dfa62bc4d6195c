// Fake layers for the overlay tests: a home and an app's layer in a temp dir, built by hand in
// overlayfs's format (whiteouts are character devices 0:0, opaque directories carry
// user.overlay.opaque = "y"), and snapshots of whole trees to compare.
//
// The temp dir is under /var/tmp (a disk filesystem): tmpfs has user xattrs only on newer
// kernels. A kernel or filesystem that refuses unprivileged whiteouts or user xattrs makes the
// tests skip, saying which.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "overlay/changes.h"
#include "overlay/format.h"
#include "overlay/layer.h"

namespace sandbox::overlay::testing {

inline void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what + ": " + std::strerror(errno));
}

inline void write_at(const std::string& path, const std::string& content, mode_t mode) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  check(fd >= 0, "create " + path);
  check(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()), "write " + path);
  close(fd);
  check(chmod(path.c_str(), mode) == 0, "chmod " + path);
}

// Removes a tree whatever its modes (the layer's work/work is 0000).
inline void remove_all(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    chmod(path.c_str(), 0700);
    std::error_code ec;
    std::vector<std::string> children;
    for (const auto& e : std::filesystem::directory_iterator(path, ec))
      children.push_back(e.path().string());
    for (const auto& c : children) remove_all(c);
    rmdir(path.c_str());
  } else {
    unlink(path.c_str());
  }
}

// A whole tree as text, one entry a line: "path type mode [content|target]". Directory mtimes
// are left out (they change whenever an entry is added); file and fifo mtimes are in.
inline std::string snapshot(const std::string& root, const std::vector<std::string>& skip = {}) {
  std::map<std::string, std::string> entries;
  std::vector<std::string> stack = {""};
  while (!stack.empty()) {
    const std::string rel = stack.back();
    stack.pop_back();
    const std::string dir = rel.empty() ? root : root + "/" + rel;
    std::error_code ec;
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
      names.push_back(e.path().filename().string());
    for (const auto& name : names) {
      const std::string crel = rel.empty() ? name : rel + "/" + name;
      if (std::find(skip.begin(), skip.end(), crel) != skip.end()) continue;
      const std::string path = root + "/" + crel;
      struct stat st;
      if (lstat(path.c_str(), &st) != 0) continue;
      char mode[16];
      std::snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
      std::string line;
      if (S_ISDIR(st.st_mode)) {
        line = std::string("d ") + mode;
        stack.push_back(crel);
      } else if (S_ISLNK(st.st_mode)) {
        char buf[4096];
        const ssize_t n = readlink(path.c_str(), buf, sizeof(buf));
        line = "l -> " + std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
      } else if (S_ISREG(st.st_mode)) {
        std::ifstream in(path, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        line = std::string("f ") + mode + " mtime=" + std::to_string(st.st_mtim.tv_sec) + "." +
               std::to_string(st.st_mtim.tv_nsec) + " " + ss.str();
      } else if (S_ISCHR(st.st_mode)) {
        line = "c " + std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
      } else if (S_ISFIFO(st.st_mode)) {
        line = std::string("p ") + mode;
      } else {
        line = "?";
      }
      entries[crel] = line;
    }
  }
  std::string out;
  for (const auto& [k, v] : entries) out += k + ": " + v + "\n";
  return out;
}

class LayerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = "/var/tmp/sandbox-overlay-test-XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr) << std::strerror(errno);
    base_ = templ;
    home_ = base_ + "/home";
    ASSERT_EQ(mkdir(home_.c_str(), 0755), 0);
    layer_ = layer_paths(home_ + "/.local/share/sandbox", "app");
    ensure_layer(layer_, geteuid());
    // Probe what the fake layers need.
    const std::string probe = layer_.upper + "/probe";
    if (mknod(probe.c_str(), S_IFCHR | 0000, makedev(0, 0)) != 0) {
      skip_reason_ = std::string("cannot create whiteouts (mknod 0:0): ") + std::strerror(errno);
      return;
    }
    unlink(probe.c_str());
    if (setxattr(layer_.upper.c_str(), "user.sandbox-test", "y", 1, 0) != 0) {
      skip_reason_ = std::string("no user xattrs on /var/tmp: ") + std::strerror(errno);
      return;
    }
    removexattr(layer_.upper.c_str(), "user.sandbox-test");
    // overlayfs leaves this behind after a mount; reset and the tests must cope with it.
    const std::string ww = layer_.work + "/work";
    mkdir(ww.c_str(), 0000);
  }

  void TearDown() override {
    if (!base_.empty()) remove_all(base_);
  }

  // ---- the real home ----
  void real_file(const std::string& rel, const std::string& content, mode_t mode = 0644) {
    write_at(home_ + "/" + rel, content, mode);
  }
  void real_dir(const std::string& rel, mode_t mode = 0755) {
    std::filesystem::create_directories(home_ + "/" + rel);
    check(chmod((home_ + "/" + rel).c_str(), mode) == 0, "chmod");
  }
  void real_link(const std::string& rel, const std::string& target) {
    std::filesystem::create_directories(std::filesystem::path(home_ + "/" + rel).parent_path());
    check(symlink(target.c_str(), (home_ + "/" + rel).c_str()) == 0, "symlink");
  }

  // ---- the layer ----
  std::string up(const std::string& rel) const { return layer_.upper + "/" + rel; }
  void up_file(const std::string& rel, const std::string& content, mode_t mode = 0644) {
    write_at(up(rel), content, mode);
  }
  void up_dir(const std::string& rel, mode_t mode = 0755) {
    std::filesystem::create_directories(up(rel));
    check(chmod(up(rel).c_str(), mode) == 0, "chmod");
  }
  void up_opaque(const std::string& rel, mode_t mode = 0755) {
    up_dir(rel, mode);
    check(setxattr(up(rel).c_str(), "user.overlay.opaque", "y", 1, 0) == 0, "setxattr opaque");
  }
  void up_link(const std::string& rel, const std::string& target) {
    std::filesystem::create_directories(std::filesystem::path(up(rel)).parent_path());
    check(symlink(target.c_str(), up(rel).c_str()) == 0, "symlink");
  }
  void whiteout(const std::string& rel) {
    std::filesystem::create_directories(std::filesystem::path(up(rel)).parent_path());
    check(mknod(up(rel).c_str(), S_IFCHR | 0000, makedev(0, 0)) == 0, "mknod whiteout");
  }
  // Gives the layer's entry the real entry's mtime (a copy-up keeps it).
  void same_mtime(const std::string& rel) {
    struct stat st;
    check(lstat((home_ + "/" + rel).c_str(), &st) == 0, "lstat");
    const timespec times[2] = {st.st_atim, st.st_mtim};
    check(utimensat(AT_FDCWD, up(rel).c_str(), times, AT_SYMLINK_NOFOLLOW) == 0, "utimensat");
  }
  // Gives the layer's entry an mtime one second after the real entry's: two files written
  // back to back may share a timestamp (the clock ticks in jiffies), so never rely on that.
  void later_mtime(const std::string& rel) {
    struct stat st;
    check(lstat((home_ + "/" + rel).c_str(), &st) == 0, "lstat");
    timespec times[2] = {st.st_atim, st.st_mtim};
    times[1].tv_sec += 1;
    check(utimensat(AT_FDCWD, up(rel).c_str(), times, AT_SYMLINK_NOFOLLOW) == 0, "utimensat");
  }
  // Changes a real entry "later": its ctime moves past every birth time so far.
  void touch_real_later(const std::string& rel) {
    usleep(20 * 1000);
    check(utimensat(AT_FDCWD, (home_ + "/" + rel).c_str(), nullptr, AT_SYMLINK_NOFOLLOW) == 0,
          "utimensat");
  }

  std::vector<Change> changes(const std::vector<std::string>& only = {}) {
    return diff_layer(layer_.upper, home_, only);
  }
  std::string diff(const std::vector<std::string>& only = {}) {
    return format_diff(changes(only), DiffStyle::kPlain);
  }
  std::string real_tree() { return snapshot(home_, {".local"}); }
  std::string upper_tree() { return snapshot(layer_.upper); }

  std::string base_, home_;
  LayerPaths layer_;
  std::string skip_reason_;
};

#define SKIP_IF_UNSUPPORTED() \
  if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_

}  // namespace sandbox::overlay::testing
