// Everyday desktop apps under their shipped profiles, on an Xvfb display with a session bus
// the test starts: each one opens a file from the home and shows a window with something in
// it (a screenshot of the window is not one flat color).
#include <cstdio>
#include <cstdlib>

#include "tests/system/system.h"

namespace sandbox::it {
namespace {

// A one-page PDF: a line of text and a red box.
std::string tiny_pdf() {
  const std::string content =
      "BT /F1 36 Tf 60 700 Td (Sandboxed MuPDF) Tj ET 0.8 0.2 0.2 rg 60 500 300 120 re f";
  const std::vector<std::string> objects = {
      "<< /Type /Catalog /Pages 2 0 R >>",
      "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
      "/Resources << /Font << /F1 5 0 R >> >> >>",
      "<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "\nendstream",
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"};
  std::string out = "%PDF-1.4\n";
  std::vector<size_t> offsets;
  for (size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(out.size());
    out += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const size_t xref = out.size();
  out += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (size_t off : offsets) {
    char line[32];
    std::snprintf(line, sizeof(line), "%010zu 00000 n \n", off);
    out += line;
  }
  out += "trailer\n<< /Size " + std::to_string(objects.size() + 1) +
         " /Root 1 0 R >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
  return out;
}

// A 320x200 binary PPM: four colored stripes and a diagonal.
std::string tiny_ppm() {
  const int w = 320, h = 200;
  std::string out = "P6\n" + std::to_string(w) + " " + std::to_string(h) + "\n255\n";
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const int stripe = x * 4 / w;
      unsigned char rgb[3] = {static_cast<unsigned char>(stripe == 0 || stripe == 3 ? 220 : 20),
                              static_cast<unsigned char>(stripe == 1 || stripe == 3 ? 200 : 30),
                              static_cast<unsigned char>(stripe == 2 ? 230 : 40)};
      if (std::abs(x - y * w / h) < 3) rgb[0] = rgb[1] = rgb[2] = 255;
      out.append(reinterpret_cast<const char*>(rgb), 3);
    }
  return out;
}

struct App {
  std::string profile;                   // the shipped profile (and `sandbox APP`)
  std::string program;                   // the program it runs, to skip when missing
  std::string package;
  std::string window_class;              // WM_CLASS of its main window (either part)
  std::string file;                      // written to the home and opened, "" for none
  std::string content;
  std::vector<std::string> args;         // after the file
  size_t min_colors;                     // in its window
};

void PrintTo(const App& app, std::ostream* os) { *os << app.profile; }

std::string name_of(const ::testing::TestParamInfo<App>& info) { return info.param.profile; }

class AppWindowTest : public SystemTest, public ::testing::WithParamInterface<App> {
 protected:
  void SetUp() override {
    SystemTest::SetUp();
    if (IsSkipped()) return;
    SYSTEM_REQUIRE({"Xvfb", "xvfb"}, {"xauth", "xauth"}, {"xwininfo", "x11-utils"},
                   {"xwd", "x11-apps"}, {"dbus-daemon", "dbus-daemon"},
                   {"xdg-dbus-proxy", "xdg-dbus-proxy"}, {GetParam().program, GetParam().package});
    start_session_bus();
    start_xvfb(1024, 768);
  }
};

TEST_P(AppWindowTest, ShowsItsWindow) {
  const App& app = GetParam();
  std::vector<std::string> argv = {paths().launcher, app.profile};
  if (!app.file.empty()) {
    write_file(in_home(app.file), app.content);
    argv.push_back(in_home(app.file));
  }
  argv.insert(argv.end(), app.args.begin(), app.args.end());
  Process& p = start(argv, desktop_options());
  const auto window = wait_for_window(app.window_class, 60000, &p);
  ASSERT_TRUE(window.has_value()) << "no " << app.window_class << " window appeared\n"
                                  << stop(p).describe();
  // Give it a moment to draw, then look.
  p.wait_for_stdout("\x01never", 1500);
  const auto shot = screenshot(app.profile);
  ASSERT_TRUE(shot.has_value());
  EXPECT_GE(shot->distinct(window->x, window->y, window->width, window->height, 64), app.min_colors)
      << app.profile << "'s window (" << window->width << "x" << window->height << "+" << window->x
      << "+" << window->y << ", \"" << window->title << "\") looks empty";
  const Result r = stop(p, 10);
  EXPECT_FALSE(r.timed_out) << r.describe();
  EXPECT_EQ(r.err.find("Failed to register"), std::string::npos) << r.describe();
}

INSTANTIATE_TEST_SUITE_P(
    DesktopApps, AppWindowTest,
    ::testing::Values(
        App{"mousepad", "mousepad", "mousepad", "Mousepad", "notes.txt",
            "Hello from a sandboxed Mousepad\nline two\n", {}, 3},
        App{"mupdf", "mupdf", "mupdf", "MuPDF", "doc.pdf", tiny_pdf(), {}, 3},
        App{"ristretto", "ristretto", "ristretto", "Ristretto", "picture.ppm", tiny_ppm(), {}, 4},
        App{"mpv", "mpv", "mpv", "mpv", "", "",
            {"--loop", "--ao=null", "av://lavfi:testsrc=size=320x240:rate=10"}, 4}),
    name_of);

}  // namespace
}  // namespace sandbox::it
