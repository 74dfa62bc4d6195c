#include "tests/system/system.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <sstream>
#include <thread>

namespace sandbox::it {

namespace {

bool executable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return executable(name) ? name : "";
  for (const char* dir : {"/usr/bin", "/usr/sbin", "/bin", "/sbin"}) {
    const std::string p = std::string(dir) + "/" + name;
    if (executable(p)) return p;
  }
  return "";
}

// python3 with the dbus and gi modules (python3-dbus, python3-gi): the test's D-Bus service.
bool have_python_dbus() {
  static const bool ok = [] {
    if (!executable("/usr/bin/python3")) return false;
    SpawnOptions o;
    o.env = {"PATH=/usr/bin:/bin"};
    const Result r = run({"/usr/bin/python3", "-c",
                          "import dbus, dbus.service, dbus.mainloop.glib\n"
                          "from gi.repository import GLib"},
                         o, 30);
    return r.exit_code == 0;
  }();
  return ok;
}

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  const int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, raw.data(), bytes) != static_cast<ssize_t>(bytes))
    throw std::runtime_error("read /dev/urandom");
  close(fd);
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

uint32_t be32(const std::string& d, size_t at) {
  return static_cast<uint32_t>(static_cast<unsigned char>(d[at])) << 24 |
         static_cast<uint32_t>(static_cast<unsigned char>(d[at + 1])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(d[at + 2])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(d[at + 3]));
}

}  // namespace

bool has_exited(pid_t pid) {
  const auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  const size_t paren = stat->rfind(')');
  return paren == std::string::npos || paren + 2 >= stat->size() || (*stat)[paren + 2] == 'Z';
}

std::string missing_programs(const std::vector<std::pair<std::string, std::string>>& programs) {
  for (const auto& [program, package] : programs) {
    const bool there = program == "python3-dbus" ? have_python_dbus() : !find_program(program).empty();
    if (!there)
      return "not installed: " + program + " (apt-get install " + package +
             "; tests/system/setup.sh installs everything this tier needs)";
  }
  return "";
}

// ---- Screenshots and windows ----

std::optional<Screenshot> parse_xwd(const std::string& data) {
  if (data.size() < 100) return std::nullopt;
  const uint32_t header_size = be32(data, 0), version = be32(data, 4), format = be32(data, 8);
  const uint32_t width = be32(data, 16), height = be32(data, 20);
  const uint32_t byte_order = be32(data, 28), bpp = be32(data, 44), bytes_per_line = be32(data, 48);
  const uint32_t ncolors = be32(data, 76);
  // Version 7, ZPixmap (2), 24 bits per pixel in 3 or 4 bytes: what Xvfb's 24-bit screens
  // give (xwd says 24 or 32 bits per pixel, depending on the visual it found on the screen).
  if (version != 7 || format != 2 || (bpp != 32 && bpp != 24) || width == 0 || height == 0)
    return std::nullopt;
  const uint32_t bytes_pp = bytes_per_line >= width * 4 ? 4 : 3;
  const size_t offset = header_size + static_cast<size_t>(ncolors) * 12;
  if (bytes_per_line < width * bytes_pp ||
      offset + static_cast<size_t>(bytes_per_line) * height > data.size())
    return std::nullopt;
  Screenshot s;
  s.width = static_cast<int>(width);
  s.height = static_cast<int>(height);
  s.pixels.resize(static_cast<size_t>(width) * height);
  for (uint32_t y = 0; y < height; ++y) {
    for (uint32_t x = 0; x < width; ++x) {
      const size_t at = offset + static_cast<size_t>(y) * bytes_per_line + x * bytes_pp;
      const auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(data[at + i])); };
      uint32_t pixel = 0;
      for (uint32_t i = 0; i < bytes_pp; ++i)
        pixel |= byte_order == 0 ? b(i) << (8 * i) : b(i) << (8 * (bytes_pp - 1 - i));
      s.pixels[static_cast<size_t>(y) * width + x] = pixel;
    }
  }
  return s;
}

size_t Screenshot::distinct(int x, int y, int w, int h, size_t stop_at) const {
  std::set<uint32_t> seen;
  const int x0 = std::max(0, x), y0 = std::max(0, y);
  const int x1 = std::min(width, x + w), y1 = std::min(height, y + h);
  for (int yy = y0; yy < y1; ++yy)
    for (int xx = x0; xx < x1; ++xx) {
      seen.insert(pixels[static_cast<size_t>(yy) * width + xx] & 0xffffff);
      if (seen.size() >= stop_at) return seen.size();
    }
  return seen.size();
}

std::vector<Window> parse_window_tree(const std::string& text) {
  // `     0x200003 "notes.txt - Mousepad": ("mousepad" "Mousepad")  640x480+0+0  +0+0`
  std::vector<Window> out;
  for (const auto& raw : split(text, '\n')) {
    const size_t start = raw.find("0x");
    const size_t cls = raw.rfind(": (\"");
    if (start == std::string::npos || cls == std::string::npos || cls < start) continue;
    Window w;
    w.id = raw.substr(start, raw.find(' ', start) - start);
    const size_t title_at = raw.find(' ', start) + 1;
    w.title = raw.substr(title_at, cls - title_at);
    const size_t close = raw.find(')', cls);
    if (close == std::string::npos) continue;
    const auto names = split(raw.substr(cls + 3, close - cls - 3), '"');  // ( "inst" "class" )
    if (names.size() >= 4) {
      w.instance = names[1];
      w.klass = names[3];
    }
    std::istringstream geometry(raw.substr(close + 1));
    std::string size, absolute;
    geometry >> size >> absolute;
    int rx, ry;
    if (std::sscanf(size.c_str(), "%dx%d%d%d", &w.width, &w.height, &rx, &ry) < 2) continue;
    if (std::sscanf(absolute.c_str(), "%d%d", &w.x, &w.y) != 2) continue;
    out.push_back(w);
  }
  return out;
}

// ---- The fixture ----

void SystemTest::TearDown() {
  // Apps and services before the harness looks for leftovers: what the test started would
  // otherwise count as having outlived its sandbox.
  for (auto it = started_.rbegin(); it != started_.rend(); ++it)
    if ((*it)->running()) stop(**it);
  started_.clear();
  SandboxTest::TearDown();
}

const std::string& SystemTest::runtime_dir() {
  if (runtime_dir_.empty()) {
    runtime_dir_ = outside_dir("rt");
    chmod(runtime_dir_.c_str(), 0700);
  }
  return runtime_dir_;
}

Process& SystemTest::start(const std::vector<std::string>& argv, const SpawnOptions& opts) {
  started_.push_back(std::make_unique<Process>(argv, opts));
  return *started_.back();
}

Result SystemTest::stop(Process& p, int timeout_s) {
  if (p.running()) kill(p.pid(), SIGTERM);
  return p.wait(timeout_s);
}

std::string SystemTest::start_session_bus() {
  const std::string rt = runtime_dir();
  const std::string socket = rt + "/bus";
  // A session bus of the test's own: no service files (nothing is activated behind the
  // test's back), anyone of this user may own and call anything.
  write_file(rt + "/bus.conf",
             "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
             " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
             "<busconfig>\n"
             "  <type>session</type>\n"
             "  <listen>unix:path=" + socket + "</listen>\n"
             "  <auth>EXTERNAL</auth>\n"
             "  <policy context=\"default\">\n"
             "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
             "    <allow eavesdrop=\"true\"/>\n"
             "    <allow own=\"*\"/>\n"
             "  </policy>\n"
             "</busconfig>\n");
  SpawnOptions o = options();
  Process& bus = start({find_program("dbus-daemon"), "--config-file=" + rt + "/bus.conf",
                        "--nofork", "--print-address"},
                       o);
  if (!bus.wait_for_stdout("\n", 10000))
    throw std::runtime_error("dbus-daemon did not start: " + bus.wait(1).describe());
  bus_address_ = "unix:path=" + socket;
  return bus_address_;
}

void SystemTest::start_echo_service(const std::vector<std::string>& names) {
  const std::string script = runtime_dir() + "/echo_service.py";
  write_file(script,
             "import sys\n"
             "import dbus, dbus.service, dbus.mainloop.glib\n"
             "from gi.repository import GLib\n"
             "class Echo(dbus.service.Object):\n"
             "    @dbus.service.method('org.sandbox.Echo', in_signature='s', out_signature='s')\n"
             "    def Echo(self, text):\n"
             "        return 'echo:' + text\n"
             "dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)\n"
             "bus = dbus.SessionBus()\n"
             "names = [dbus.service.BusName(n, bus, do_not_queue=True) for n in sys.argv[1:]]\n"
             "obj = Echo(bus, '/org/sandbox/Echo')\n"
             "print('ready', flush=True)\n"
             "GLib.MainLoop().run()\n");
  SpawnOptions o = options();
  o.env.push_back("DBUS_SESSION_BUS_ADDRESS=" + bus_address_);
  std::vector<std::string> argv = {"/usr/bin/python3", script};
  argv.insert(argv.end(), names.begin(), names.end());
  Process& service = start(argv, o);
  if (!service.wait_for_stdout("ready", 20000))
    throw std::runtime_error("the echo service did not start: " + service.wait(1).describe());
}

std::string SystemTest::start_xvfb(int width, int height) {
  const std::string rt = runtime_dir();
  x_cookie_ = random_hex(16);
  xauth_server_ = rt + "/Xauthority.server";
  xauthority_ = rt + "/Xauthority";
  SpawnOptions o = options();
  // The server takes every cookie in its file, whatever display the entry names.
  Result r = run({find_program("xauth"), "-q", "-f", xauth_server_, "add", ":0",
                  "MIT-MAGIC-COOKIE-1", x_cookie_},
                 o);
  if (r.exit_code != 0) throw std::runtime_error("xauth: " + r.describe());
  // -displayfd: Xvfb picks a free display and writes its number to stdout.
  Process& x = start({find_program("Xvfb"), "-displayfd", "1", "-screen", "0",
                      std::to_string(width) + "x" + std::to_string(height) + "x24", "-nolisten",
                      "tcp", "-br", "-noreset", "-auth", xauth_server_},
                     o);
  if (!x.wait_for_stdout("\n", 15000)) throw std::runtime_error("Xvfb did not start: " + x.wait(1).describe());
  const std::string number = x.out_so_far().substr(0, x.out_so_far().find('\n'));
  display_ = ":" + number;
  // The clients' file: this display's cookie, and another display's that no sandbox may get.
  r = run({find_program("xauth"), "-q", "-f", xauthority_, "add", display_, "MIT-MAGIC-COOKIE-1",
           x_cookie_},
          o);
  if (r.exit_code != 0) throw std::runtime_error("xauth: " + r.describe());
  r = run({find_program("xauth"), "-q", "-f", xauthority_, "add",
           ":" + std::to_string(std::stoi(number) + 1), "MIT-MAGIC-COOKIE-1",
           "0123456789abcdef0123456789abcdef"},
          o);
  if (r.exit_code != 0) throw std::runtime_error("xauth: " + r.describe());
  return display_;
}

std::string SystemTest::start_weston() {
  const std::string rt = runtime_dir();
  SpawnOptions o = options();
  o.env.push_back("XDG_RUNTIME_DIR=" + rt);
  // fullscreen-shell starts no helper clients of its own (desktop-shell would).
  start({find_program("weston"), "--backend=headless-backend.so", "--socket=wayland-sbtest",
         "--shell=fullscreen-shell.so", "--idle-time=0", "--no-config", "--log=" + rt + "/weston.log"},
        o);
  for (int i = 0; i < 200 && !exists(rt + "/wayland-sbtest"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (!exists(rt + "/wayland-sbtest"))
    throw std::runtime_error("weston did not start: " + read_file(rt + "/weston.log").value_or(""));
  wayland_display_ = "wayland-sbtest";
  return wayland_display_;
}

std::vector<std::string> SystemTest::desktop_env() const {
  std::vector<std::string> e = env();
  if (!runtime_dir_.empty()) e.push_back("XDG_RUNTIME_DIR=" + runtime_dir_);
  if (!bus_address_.empty()) e.push_back("DBUS_SESSION_BUS_ADDRESS=" + bus_address_);
  if (!display_.empty()) {
    e.push_back("DISPLAY=" + display_);
    e.push_back("XAUTHORITY=" + xauthority_);
  }
  if (!wayland_display_.empty()) e.push_back("WAYLAND_DISPLAY=" + wayland_display_);
  return e;
}

SpawnOptions SystemTest::desktop_options() const {
  SpawnOptions o = options();
  o.env = desktop_env();
  return o;
}

std::string SystemTest::write_profile(const std::string& name, const std::string& yaml) {
  if (profiles_dir_.empty()) profiles_dir_ = outside_dir("profiles");
  const std::string path = profiles_dir_ + "/" + name + ".yaml";
  write_file(path, yaml);
  return path;
}

std::vector<Window> SystemTest::windows() {
  const Result r = run({find_program("xwininfo"), "-root", "-tree", "-display", display_},
                       desktop_options(), 10);
  return parse_window_tree(r.out);
}

std::optional<Window> SystemTest::wait_for_window(const std::string& klass, int timeout_ms,
                                                  Process* app) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    std::optional<Window> best;
    for (const Window& w : windows())
      if ((w.klass == klass || w.instance == klass) && w.width > 50 && w.height > 50 &&
          (!best || w.width * w.height > best->width * best->height))
        best = w;
    if (best) return best;
    if (app && has_exited(app->pid())) return std::nullopt;
    // Drains the app's output while waiting (a full pipe would stop it), or just waits.
    const auto before = std::chrono::steady_clock::now();
    if (app) app->wait_for_stdout("\x01never", 200);
    if (std::chrono::steady_clock::now() - before < std::chrono::milliseconds(150))
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return std::nullopt;
}

std::optional<Screenshot> SystemTest::screenshot(const std::string& name) {
  const std::string file = runtime_dir() + "/" + name + ".xwd";
  const Result r = run({find_program("xwd"), "-root", "-silent", "-display", display_, "-out", file},
                       desktop_options(), 20);
  if (r.exit_code != 0) {
    ADD_FAILURE() << "xwd failed\n" << r.describe();
    return std::nullopt;
  }
  const auto data = read_file(file);
  if (!data) return std::nullopt;
  if (const char* keep = getenv("SANDBOX_SYSTEM_SHOTS"); keep && *keep) {
    try {
      write_file(std::string(keep) + "/" + name + ".xwd", *data);
    } catch (const std::exception&) {
    }
  }
  return parse_xwd(*data);
}

}  // namespace sandbox::it
