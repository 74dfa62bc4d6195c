// The system tier: real services (a D-Bus session bus, Xvfb, weston) and real apps from
// Debian's packages (firefox-esr, chromium, mousepad, ...), started by the tests, with
// sandboxes started by the integration tier's harness (tests/integration/harness.h: a root
// caller drops to the user `sandbox-test`, every test gets a home of its own).
//
// tests/system/setup.sh installs the packages. A test whose program is missing skips and says
// which package to install.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/harness.h"

namespace sandbox::it {

// "" when every program is installed, else "not installed: PROGRAM (apt-get install PACKAGE)"
// for the first one missing. `programs` are {program, Debian package}.
std::string missing_programs(const std::vector<std::pair<std::string, std::string>>& programs);

// True once `pid` is a zombie or gone (a Process not yet waited for).
bool has_exited(pid_t pid);

// Skips the test (from the test body or SetUp) unless every program is there.
#define SYSTEM_REQUIRE(...)                                              \
  do {                                                                   \
    const std::string why_missing = ::sandbox::it::missing_programs({__VA_ARGS__}); \
    if (!why_missing.empty()) GTEST_SKIP() << why_missing;               \
  } while (0)

// An X11 screenshot (xwd's format), reduced to what the tests ask of it.
struct Screenshot {
  int width = 0, height = 0;
  std::vector<uint32_t> pixels;  // width * height, row by row, as the server stores them
  // How many different pixel values the rectangle holds (clipped to the image).
  size_t distinct(int x, int y, int w, int h, size_t stop_at = 1000) const;
};
std::optional<Screenshot> parse_xwd(const std::string& data);

// A top-level window as `xwininfo -root -tree` lists it.
struct Window {
  std::string id, title, instance, klass;
  int x = 0, y = 0, width = 0, height = 0;  // absolute
};
std::vector<Window> parse_window_tree(const std::string& xwininfo_output);

class SystemTest : public SandboxTest {
 protected:
  void TearDown() override;  // stops what the test started (last first), then SandboxTest's

  // A private XDG_RUNTIME_DIR (mode 0700) outside the test's home, made on first use.
  const std::string& runtime_dir();

  // A process that runs until TearDown (SIGTERM, then SIGKILL after 5 s), or until stop().
  Process& start(const std::vector<std::string>& argv, const SpawnOptions& opts);
  // SIGTERM, wait up to `timeout_s`, then SIGKILL. Returns what it printed.
  Result stop(Process& p, int timeout_s = 5);

  // A dbus-daemon of its own (config in the runtime dir, no service activation), listening on
  // runtime_dir()/bus. Returns its address; also in bus_address_.
  std::string start_session_bus();
  // A python3-dbus service on that bus owning `names`, each answering
  // org.sandbox.Echo.Echo(s) -> "echo:" + s at /org/sandbox/Echo.
  void start_echo_service(const std::vector<std::string>& names);

  // Xvfb on a free display, with a cookie: the server reads xauth_server_, clients use
  // xauthority_ (holding that display's cookie and another display's, which a sandbox must
  // not get). Returns ":N"; also in display_.
  std::string start_xvfb(int width = 800, int height = 600);
  // weston with the headless backend, its socket `wayland-sbtest` in runtime_dir().
  std::string start_weston();

  // env() plus what the started services need: XDG_RUNTIME_DIR, DBUS_SESSION_BUS_ADDRESS,
  // DISPLAY and XAUTHORITY, WAYLAND_DISPLAY (each when started).
  std::vector<std::string> desktop_env() const;
  SpawnOptions desktop_options() const;

  // A profile file outside the home (YAML text); returns its path for `-p`.
  std::string write_profile(const std::string& name, const std::string& yaml);

  // `xwininfo -root -tree` on display_, as the host sees it.
  std::vector<Window> windows();
  // Waits up to `timeout_ms` for a top-level window whose class (either part) is `klass`, and
  // returns the largest such. `app` is checked to still run, if given.
  std::optional<Window> wait_for_window(const std::string& klass, int timeout_ms,
                                        Process* app = nullptr);
  // xwd -root of display_. Saved to $SANDBOX_SYSTEM_SHOTS/NAME.xwd when that is set.
  std::optional<Screenshot> screenshot(const std::string& name);

  std::string bus_address_, display_, xauthority_, xauth_server_, wayland_display_;
  std::string x_cookie_;
  std::vector<std::unique_ptr<Process>> started_;

 private:
  std::string runtime_dir_, profiles_dir_;
};

}  // namespace sandbox::it
