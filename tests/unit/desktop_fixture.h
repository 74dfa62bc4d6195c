// Temporary XDG data directories with made-up system entries, and desktop-file-validate.
#pragma once

#include <glib.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace sandbox::desktop::testing {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_text(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

// desktop-file-validate's verdict on `path`: "" when it found nothing to say, else its output
// (errors, warnings and hints). nullopt when it is not installed.
inline std::optional<std::string> validate(const std::string& path) {
  gchar* program = g_find_program_in_path("desktop-file-validate");
  if (!program) return std::nullopt;
  const gchar* argv[] = {program, path.c_str(), nullptr};
  gchar* out = nullptr;
  gchar* err = nullptr;
  gint status = 0;
  const bool ran = g_spawn_sync(nullptr, const_cast<gchar**>(argv), nullptr, G_SPAWN_DEFAULT,
                                nullptr, nullptr, &out, &err, &status, nullptr);
  g_free(program);
  std::string text = ran ? std::string(out ? out : "") + (err ? err : "") : "did not run";
  if (ran && !g_spawn_check_wait_status(status, nullptr)) text += "(exit status non-zero)";
  g_free(out);
  g_free(err);
  return text;
}

#define EXPECT_VALID_ENTRY(path)                                                                \
  do {                                                                                          \
    const auto verdict = ::sandbox::desktop::testing::validate(path);                           \
    if (!verdict)                                                                               \
      GTEST_SKIP() << "desktop-file-validate is not installed "                                 \
                      "(apt-get install desktop-file-utils)";                                   \
    EXPECT_EQ(*verdict, "") << (path) << ":\n" << ::sandbox::desktop::testing::read_text(path); \
  } while (0)

class DesktopDirs : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ =
        (std::filesystem::temp_directory_path() / "sandbox-desktop-XXXXXX").string();
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    base_ = templ;
    home_ = base_ + "/home";
    sys1_ = base_ + "/sys1";  // first in $XDG_DATA_DIRS
    sys2_ = base_ + "/sys2";
    user_apps_ = home_ + "/.local/share/applications";
    std::filesystem::create_directories(sys1_ + "/applications");
    std::filesystem::create_directories(sys2_ + "/applications");
    std::filesystem::create_directories(home_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!base_.empty()) std::filesystem::remove_all(base_, ec);
  }

  std::vector<std::string> dirs() const {
    return {sys1_ + "/applications", sys2_ + "/applications"};
  }
  std::string data_dirs() const { return sys1_ + ":" + sys2_; }

  // A system entry at sys/applications/REL.
  std::string system_entry(const std::string& rel, const std::string& text, bool first = true) {
    const std::string path = (first ? sys1_ : sys2_) + "/applications/" + rel;
    write_text(path, text);
    return path;
  }

  std::string base_, home_, sys1_, sys2_, user_apps_;
};

// A plain application entry running `exec`.
inline std::string app_entry(const std::string& name, const std::string& exec,
                             const std::string& more = "") {
  return "[Desktop Entry]\nType=Application\nName=" + name + "\nExec=" + exec + "\n" + more;
}

}  // namespace sandbox::desktop::testing
