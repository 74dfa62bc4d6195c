// Displays, against servers the test starts: Xvfb (with a cookie) and weston's headless
// backend. A client inside reaches a display only when the profile grants it, and then only
// with that display's own cookie.
#include "tests/system/system.h"

namespace sandbox::it {
namespace {

class X11Test : public SystemTest {
 protected:
  void SetUp() override {
    SystemTest::SetUp();
    if (IsSkipped()) return;
    SYSTEM_REQUIRE({"Xvfb", "xvfb"}, {"xauth", "xauth"}, {"xdpyinfo", "x11-utils"},
                   {"xwininfo", "x11-utils"}, {"xwd", "x11-apps"}, {"xlogo", "x11-apps"});
    start_xvfb();
    x11_ = write_profile("x11", "version: 1\nextends: default\ndisplay: [x11]\n");
    // The cookie as a FamilyWild entry, which matches whatever the host name is (inside, it
    // is the profile's): the file a client that smuggled the cookie in would use.
    auto put16 = [](std::string& out, size_t v) {
      out += static_cast<char>((v >> 8) & 0xff);
      out += static_cast<char>(v & 0xff);
    };
    std::string cookie;
    for (size_t i = 0; i + 1 < x_cookie_.size(); i += 2)
      cookie += static_cast<char>(std::stoi(x_cookie_.substr(i, 2), nullptr, 16));
    std::string entry;
    put16(entry, 0xffff);
    for (const std::string& field : {std::string(), display_.substr(1), std::string("MIT-MAGIC-COOKIE-1"), cookie}) {
      put16(entry, field.size());
      entry += field;
    }
    wild_xauthority_ = runtime_dir() + "/Xauthority.wild";
    write_file(wild_xauthority_, entry, 0600);
  }

  // Connects to display_ from inside, with the cookie bound in and XAUTHORITY/DISPLAY forced,
  // so that only the socket decides; reports what it found.
  Result try_connect(const std::vector<std::string>& run_opts) {
    const std::string script =
        "echo \"display=${DISPLAY-unset}\"\n"
        "n=" + display_.substr(1) + "\n"
        "if test -e /tmp/.X11-unix/X$n; then echo socket-present; else echo socket-absent; fi\n"
        "if /usr/bin/xdpyinfo -display :$n >/dev/null; then echo connected; else echo refused; fi\n";
    std::vector<std::string> argv = {paths().launcher, "run"};
    argv.insert(argv.end(), run_opts.begin(), run_opts.end());
    argv.insert(argv.end(), {"--", "/bin/sh", "-c", script});
    return run(argv, desktop_options(), 30);
  }

  std::string x11_, wild_xauthority_;
};

TEST_F(X11Test, ClientWindowShowsInAScreenshot) {
  const auto before = screenshot("x11-before");
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(before->distinct(0, 0, before->width, before->height), 1u)
      << "the empty screen is not uniform";

  Process& app = start({paths().launcher, "run", "-p", x11_, "--", "/usr/bin/xlogo",
                        "-geometry", "300x300+40+30"},
                       desktop_options());
  const auto window = wait_for_window("XLogo", 20000, &app);
  ASSERT_TRUE(window.has_value()) << "no xlogo window appeared\n" << stop(app).describe();
  EXPECT_EQ(window->width, 300);
  const auto after = screenshot("x11-xlogo");
  ASSERT_TRUE(after.has_value());
  // xlogo draws a black logo on white: two colors at least, inside its window.
  EXPECT_GE(after->distinct(window->x, window->y, window->width, window->height), 2u);
  const Result r = stop(app, 10);
  EXPECT_FALSE(r.timed_out) << r.describe();
}

TEST_F(X11Test, ClientRunsInsideWithTheDisplaysCookie) {
  const std::string script =
      "echo \"display=$DISPLAY\"\n"
      "/usr/bin/xauth list\n"
      "/usr/bin/xdpyinfo | grep -E 'name of display|dimensions'\n";
  const Result r = run({paths().launcher, "run", "-p", x11_, "--", "/bin/sh", "-c", script},
                       desktop_options(), 30);
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("display=" + display_), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("800x600 pixels"), std::string::npos) << r.describe();
  // Only this display's cookie: not the other display's in the same Xauthority file.
  EXPECT_NE(r.out.find(x_cookie_), std::string::npos) << r.describe();
  EXPECT_EQ(r.out.find("0123456789abcdef0123456789abcdef"), std::string::npos)
      << "another display's cookie reached the sandbox\n" << r.describe();
}

TEST_F(X11Test, WithoutDisplayTheClientCannotConnect) {
  // Control: granted, the same script connects.
  const Result granted = try_connect({"-p", x11_, "--ro", wild_xauthority_, "--env",
                                      "XAUTHORITY=" + wild_xauthority_});
  ASSERT_NE(granted.out.find("connected"), std::string::npos) << granted.describe();

  // default has no display: DISPLAY is unset, and forcing it and the cookie in does not help,
  // as the socket is not there (and the abstract one is in the host's network namespace).
  const Result plain = try_connect({"-p", "default"});
  EXPECT_NE(plain.out.find("display=unset"), std::string::npos) << plain.describe();
  const Result forced = try_connect({"-p", "default", "--ro", wild_xauthority_, "--env",
                                     "XAUTHORITY=" + wild_xauthority_, "--env", "DISPLAY=" + display_});
  EXPECT_NE(forced.out.find("socket-absent"), std::string::npos) << forced.describe();
  EXPECT_NE(forced.out.find("refused"), std::string::npos)
      << "a client without `display` reached the X server\n" << forced.describe();
  EXPECT_EQ(forced.out.find("connected"), std::string::npos) << forced.describe();
}

class WaylandTest : public SystemTest {
 protected:
  void SetUp() override {
    SystemTest::SetUp();
    if (IsSkipped()) return;
    SYSTEM_REQUIRE({"weston", "weston"}, {"wayland-info", "wayland-utils"});
    start_weston();
  }

  Result wayland_info(const std::vector<std::string>& run_opts) {
    std::vector<std::string> argv = {paths().launcher, "run"};
    argv.insert(argv.end(), run_opts.begin(), run_opts.end());
    argv.insert(argv.end(), {"--", "/bin/sh", "-c",
                             "echo \"wayland=${WAYLAND_DISPLAY-unset}\"; /usr/bin/wayland-info"});
    return run(argv, desktop_options(), 30);
  }
};

TEST_F(WaylandTest, ClientConnectsWhenGranted) {
  const std::string profile =
      write_profile("wayland", "version: 1\nextends: default\ndisplay: [wayland]\n");
  const Result r = wayland_info({"-p", profile});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("wayland=wayland-sbtest"), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("'wl_compositor'"), std::string::npos) << r.describe();
}

TEST_F(WaylandTest, ClientCannotConnectWithoutDisplay) {
  const Result plain = wayland_info({"-p", "default"});
  EXPECT_NE(plain.out.find("wayland=unset"), std::string::npos) << plain.describe();
  EXPECT_NE(plain.exit_code, 0) << plain.describe();
  EXPECT_EQ(plain.out.find("wl_compositor"), std::string::npos) << plain.describe();

  // Naming the socket, by name or by its host path, does not make it appear.
  for (const std::string& name : {wayland_display_, runtime_dir() + "/" + wayland_display_}) {
    const Result forced = wayland_info({"-p", "default", "--env", "WAYLAND_DISPLAY=" + name});
    EXPECT_NE(forced.exit_code, 0) << forced.describe();
    EXPECT_EQ(forced.out.find("wl_compositor"), std::string::npos)
        << "a client without `display` reached the compositor via " << name << "\n"
        << forced.describe();
  }
  // Control: the compositor answers on the host.
  SpawnOptions o = options();
  o.env.push_back("XDG_RUNTIME_DIR=" + runtime_dir());
  o.env.push_back("WAYLAND_DISPLAY=" + wayland_display_);
  const Result host = run({"/usr/bin/wayland-info"}, o, 30);
  EXPECT_NE(host.out.find("'wl_compositor'"), std::string::npos) << host.describe();
}

}  // namespace
}  // namespace sandbox::it
