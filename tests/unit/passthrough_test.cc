#include "desktop/passthrough.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace sandbox::desktop {
namespace {

using profiles::DisplayKind;

struct FakeHost {
  std::map<std::string, std::string> env;
  std::set<std::string> paths;
  HostView view() const {
    HostView v;
    v.getenv = [this](const std::string& n) {
      auto it = env.find(n);
      return it == env.end() ? std::string() : it->second;
    };
    v.exists = [this](const std::string& p) { return paths.count(p) > 0; };
    v.list_dir = [this](const std::string& dir) {
      std::vector<std::string> names;
      for (const auto& p : paths)
        if (p.rfind(dir + "/", 0) == 0 && p.find('/', dir.size() + 1) == std::string::npos)
          names.push_back(p.substr(dir.size() + 1));
      return names;
    };
    v.home = "/home/ann";
    v.runtime_dir = "/run/user/1000";
    v.runtime_dir_inside = "/run/user/1000";
    return v;
  }
};

bool has_env(const PassthroughPlan& p, const std::string& name, const std::string& value) {
  for (const auto& [n, v] : p.env_set)
    if (n == name && v == value) return true;
  return false;
}
bool unsets(const PassthroughPlan& p, const std::string& name) {
  return std::find(p.env_unset.begin(), p.env_unset.end(), name) != p.env_unset.end();
}

TEST(Passthrough, NothingGrantedDropsDisplayAndAudioVariables) {
  FakeHost h;
  h.paths = {"/run/user/1000/wayland-0", "/tmp/.X11-unix/X0", "/dev/dri"};
  const auto p = plan_passthrough({}, h.view());
  EXPECT_TRUE(p.grants.empty());
  EXPECT_TRUE(unsets(p, "WAYLAND_DISPLAY"));
  EXPECT_TRUE(unsets(p, "DISPLAY"));
  EXPECT_TRUE(unsets(p, "XAUTHORITY"));
  EXPECT_TRUE(unsets(p, "PULSE_SERVER"));
}

TEST(Passthrough, WaylandAndX11WithCookie) {
  FakeHost h;
  h.env = {{"WAYLAND_DISPLAY", "wayland-1"}, {"DISPLAY", ":3.0"}};
  h.paths = {"/run/user/1000/wayland-1", "/tmp/.X11-unix/X3", "/home/ann/.Xauthority"};
  const auto p = plan_passthrough({{DisplayKind::kWayland, DisplayKind::kX11}, false, false, {}}, h.view());
  ASSERT_EQ(p.grants.size(), 3u);
  EXPECT_EQ(p.grants[0].host_path, "/run/user/1000/wayland-1");
  EXPECT_EQ(p.grants[0].kind, Grant::Kind::kSocket);
  EXPECT_EQ(p.grants[1].host_path, "/tmp/.X11-unix/X3");
  EXPECT_EQ(p.grants[2].kind, Grant::Kind::kXauthority);
  EXPECT_EQ(p.grants[2].display, "3");
  EXPECT_EQ(p.grants[2].inside_path, "/run/user/1000/Xauthority");
  EXPECT_TRUE(has_env(p, "WAYLAND_DISPLAY", "wayland-1"));
  EXPECT_TRUE(has_env(p, "DISPLAY", ":3"));
  EXPECT_TRUE(has_env(p, "XAUTHORITY", "/run/user/1000/Xauthority"));
  EXPECT_TRUE(p.notes.empty());
}

TEST(Passthrough, AbsentDisplayIsANoteNotAnError) {
  FakeHost h;
  h.env = {{"DISPLAY", "remote:0"}};
  const auto p = plan_passthrough({{DisplayKind::kWayland, DisplayKind::kX11}, true, false, {}}, h.view());
  EXPECT_TRUE(p.grants.empty());
  ASSERT_EQ(p.notes.size(), 3u);
  EXPECT_NE(p.notes[0].find("no Wayland display"), std::string::npos);
  EXPECT_NE(p.notes[1].find("'remote:0' is not local"), std::string::npos);
  EXPECT_NE(p.notes[2].find("audio"), std::string::npos);
  EXPECT_TRUE(unsets(p, "DISPLAY"));
}

TEST(Passthrough, AudioAndGpu) {
  FakeHost h;
  h.paths = {"/run/user/1000/pipewire-0", "/run/user/1000/pulse/native", "/dev/dri",
             "/dev/nvidia0", "/dev/nvidiactl", "/dev/null", "/sys/devices", "/sys/dev/char"};
  const auto p = plan_passthrough({{}, true, true, {}}, h.view());
  std::vector<std::string> hosts;
  for (const auto& g : p.grants) hosts.push_back(g.host_path);
  EXPECT_EQ(hosts, (std::vector<std::string>{"/run/user/1000/pipewire-0", "/run/user/1000/pulse/native",
                                             "/dev/dri", "/dev/nvidia0", "/dev/nvidiactl",
                                             "/sys/dev/char", "/sys/devices"}));
  EXPECT_TRUE(has_env(p, "PULSE_SERVER", "unix:/run/user/1000/pulse/native"));
}

TEST(Passthrough, DisplayNumbers) {
  EXPECT_EQ(local_display_number(":0"), "0");
  EXPECT_EQ(local_display_number(":12.1"), "12");
  EXPECT_EQ(local_display_number("unix:2"), "2");
  EXPECT_EQ(local_display_number("host:0"), "");
  EXPECT_EQ(local_display_number(""), "");
  EXPECT_EQ(local_display_number(":x"), "");
}

std::string xau(unsigned family, const std::string& addr, const std::string& num,
                const std::string& name, const std::string& data) {
  std::string out;
  auto put16 = [&out](size_t v) {
    out += static_cast<char>((v >> 8) & 0xff);
    out += static_cast<char>(v & 0xff);
  };
  put16(family);
  for (const std::string* f : {&addr, &num, &name, &data}) {
    put16(f->size());
    out += *f;
  }
  return out;
}

TEST(Passthrough, XauthorityKeepsOnlyThisDisplayAsWild) {
  const std::string mine = xau(256, "host", "0", "MIT-MAGIC-COOKIE-1", "abcd");
  const std::string other_display = xau(256, "host", "1", "MIT-MAGIC-COOKIE-1", "efgh");
  const std::string other_host = xau(256, "elsewhere", "0", "MIT-MAGIC-COOKIE-1", "ijkl");
  const std::string wild = xau(65535, "", "0", "MIT-MAGIC-COOKIE-1", "mnop");
  const std::string filtered = filter_xauthority(mine + other_display + other_host + wild, "0", "host");
  EXPECT_EQ(filtered, xau(65535, "host", "0", "MIT-MAGIC-COOKIE-1", "abcd") + wild);
  // A truncated file keeps what was whole.
  EXPECT_EQ(filter_xauthority(mine + wild.substr(0, 5), "0", "host"),
            xau(65535, "host", "0", "MIT-MAGIC-COOKIE-1", "abcd"));
}

}  // namespace
}  // namespace sandbox::desktop
