#include "desktop/passthrough.h"

#include <algorithm>

namespace sandbox::desktop {

namespace {

using profiles::DisplayKind;

bool wants(const PassthroughRequest& r, DisplayKind k) {
  return std::find(r.display.begin(), r.display.end(), k) != r.display.end();
}

void plan_wayland(const HostView& host, PassthroughPlan& plan) {
  std::string name = host.getenv("WAYLAND_DISPLAY");
  if (name.empty()) name = "wayland-0";
  // An absolute WAYLAND_DISPLAY names the socket itself; a relative one lives in the
  // runtime dir (wayland-client's rule).
  const std::string socket = name[0] == '/' ? name : host.runtime_dir + "/" + name;
  if ((name[0] != '/' && host.runtime_dir.empty()) || !host.exists(socket)) {
    plan.notes.push_back("display: no Wayland display on this host (" + socket + "): skipped");
    plan.env_unset.push_back("WAYLAND_DISPLAY");
    return;
  }
  const std::string base = name.substr(name.rfind('/') + 1);
  const std::string inside = host.runtime_dir_inside + "/" + base;
  plan.grants.push_back({Grant::Kind::kSocket, socket, inside, "", "wayland"});
  plan.env_set.emplace_back("WAYLAND_DISPLAY", base);
}

void plan_x11(const HostView& host, PassthroughPlan& plan) {
  const std::string display = host.getenv("DISPLAY");
  const std::string number = local_display_number(display);
  if (number.empty()) {
    plan.notes.push_back(display.empty() ? "display: no X11 display (DISPLAY is unset): skipped"
                                         : "display: X11 display '" + display +
                                               "' is not local: skipped");
    plan.env_unset.push_back("DISPLAY");
    plan.env_unset.push_back("XAUTHORITY");
    return;
  }
  // The filesystem socket only: the abstract one (@/tmp/.X11-unix/XN) lives in the host's
  // network namespace, which the sandbox does not share unless `network: host`.
  const std::string socket = "/tmp/.X11-unix/X" + number;
  if (!host.exists(socket)) {
    plan.notes.push_back("display: X11 display :" + number + " has no socket (" + socket + "): skipped");
    plan.env_unset.push_back("DISPLAY");
    plan.env_unset.push_back("XAUTHORITY");
    return;
  }
  plan.grants.push_back({Grant::Kind::kSocket, socket, socket, "", "x11"});
  plan.env_set.emplace_back("DISPLAY", ":" + number);
  std::string xauth = host.getenv("XAUTHORITY");
  if (xauth.empty()) xauth = host.home + "/.Xauthority";
  if (host.exists(xauth)) {
    const std::string inside = host.runtime_dir_inside + "/Xauthority";
    plan.grants.push_back({Grant::Kind::kXauthority, xauth, inside, number, "x11"});
    plan.env_set.emplace_back("XAUTHORITY", inside);
  } else {
    plan.env_unset.push_back("XAUTHORITY");
  }
}

void plan_audio(const HostView& host, PassthroughPlan& plan) {
  bool any = false;
  if (!host.runtime_dir.empty()) {
    const std::string pipewire = host.runtime_dir + "/pipewire-0";
    if (host.exists(pipewire)) {
      plan.grants.push_back({Grant::Kind::kSocket, pipewire, host.runtime_dir_inside + "/pipewire-0", "", "audio"});
      any = true;
    }
    const std::string pulse = host.runtime_dir + "/pulse/native";
    if (host.exists(pulse)) {
      const std::string inside = host.runtime_dir_inside + "/pulse/native";
      plan.grants.push_back({Grant::Kind::kSocket, pulse, inside, "", "audio"});
      plan.env_set.emplace_back("PULSE_SERVER", "unix:" + inside);
      any = true;
    }
  }
  if (!any) plan.notes.push_back("audio: no PipeWire or PulseAudio socket on this host: skipped");
}

void plan_gpu(const HostView& host, PassthroughPlan& plan) {
  if (host.exists("/dev/dri")) plan.grants.push_back({Grant::Kind::kDevice, "/dev/dri", "/dev/dri", "", "gpu"});
  for (const auto& name : host.list_dir("/dev"))
    if (name.rfind("nvidia", 0) == 0)
      plan.grants.push_back({Grant::Kind::kDevice, "/dev/" + name, "/dev/" + name, "", "gpu"});
  // What Mesa and the NVIDIA driver read to find and identify the GPU.
  for (const char* path : {"/sys/dev/char", "/sys/devices", "/sys/bus/pci", "/sys/class/drm"})
    if (host.exists(path)) plan.grants.push_back({Grant::Kind::kReadOnly, path, path, "", "gpu"});
}

}  // namespace

std::string local_display_number(const std::string& display) {
  std::string rest;
  if (display.rfind(':', 0) == 0)
    rest = display.substr(1);
  else if (display.rfind("unix:", 0) == 0)
    rest = display.substr(5);
  else
    return "";
  std::string number;
  for (char c : rest) {
    if (c == '.') break;
    if (c < '0' || c > '9') return "";
    number += c;
  }
  return number;
}

std::string filter_xauthority(const std::string& data, const std::string& number,
                              const std::string& hostname) {
  constexpr unsigned kFamilyLocal = 256, kFamilyWild = 65535;
  std::string out;
  size_t pos = 0;
  auto u16 = [&](size_t at) {
    return static_cast<unsigned>(static_cast<unsigned char>(data[at])) << 8 |
           static_cast<unsigned char>(data[at + 1]);
  };
  while (pos + 2 <= data.size()) {
    const size_t start = pos;
    const unsigned family = u16(pos);
    pos += 2;
    std::string fields[4];  // address, number, name, data
    bool ok = true;
    for (auto& field : fields) {
      if (pos + 2 > data.size()) { ok = false; break; }
      const unsigned len = u16(pos);
      pos += 2;
      if (pos + len > data.size()) { ok = false; break; }
      field = data.substr(pos, len);
      pos += len;
    }
    if (!ok) break;  // a truncated file: keep what was whole
    const bool here = family == kFamilyWild || (family == kFamilyLocal && fields[0] == hostname);
    if (!here || fields[1] != number) continue;
    // Kept as FamilyWild: inside, the host name is the profile's, and a FamilyLocal entry
    // would no longer match it (Flatpak rewrites its cookies the same way).
    (void)start;
    auto put16 = [&out](size_t v) {
      out += static_cast<char>((v >> 8) & 0xff);
      out += static_cast<char>(v & 0xff);
    };
    put16(kFamilyWild);
    for (const auto& field : fields) {
      put16(field.size());
      out += field;
    }
  }
  return out;
}

PassthroughPlan plan_passthrough(const PassthroughRequest& request, const HostView& host) {
  PassthroughPlan plan;
  if (wants(request, DisplayKind::kWayland))
    plan_wayland(host, plan);
  else
    plan.env_unset.push_back("WAYLAND_DISPLAY");
  if (wants(request, DisplayKind::kX11)) {
    plan_x11(host, plan);
  } else {
    plan.env_unset.push_back("DISPLAY");
    plan.env_unset.push_back("XAUTHORITY");
  }
  if (request.audio)
    plan_audio(host, plan);
  else
    plan.env_unset.push_back("PULSE_SERVER");
  if (request.gpu) plan_gpu(host, plan);
  for (const auto& dev : request.devices)
    plan.grants.push_back({Grant::Kind::kDevice, dev, dev, "", "filesystem.dev"});
  return plan;
}

}  // namespace sandbox::desktop
