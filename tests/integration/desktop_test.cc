// `sandbox desktop install|list|remove` through the real binary, and the generated entries
// run the way a desktop runs them: the Exec line split with GLib's own g_shell_parse_argv (its
// field codes filled in with a real file), and `gio launch`, which is GLib's whole launcher.
// The entry's program writes into the home; the write must land in the app's layer, not in
// the real home.
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "tests/integration/harness.h"

namespace sandbox::it {
namespace {

// tests/integration/CMakeLists.txt links only GTest; GLib (which the launcher links, so it is
// installed wherever the launcher runs) is opened at run time instead.
class Glib {
 public:
  Glib() {
    handle_ = dlopen("libglib-2.0.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!handle_) return;
    key_file_new_ = sym<void* (*)()>("g_key_file_new");
    key_file_load_ = sym<int (*)(void*, const char*, int, void**)>("g_key_file_load_from_file");
    key_file_get_string_ =
        sym<char* (*)(void*, const char*, const char*, void**)>("g_key_file_get_string");
    key_file_free_ = sym<void (*)(void*)>("g_key_file_free");
    shell_parse_argv_ = sym<int (*)(const char*, int*, char***, void**)>("g_shell_parse_argv");
    strfreev_ = sym<void (*)(char**)>("g_strfreev");
    free_ = sym<void (*)(void*)>("g_free");
  }
  ~Glib() {
    if (handle_) dlclose(handle_);
  }
  bool loaded() const { return handle_ && key_file_new_ && shell_parse_argv_ && free_; }

  // The value of KEY in GROUP of the key file at PATH, unescaped (g_key_file_get_string).
  std::optional<std::string> get_string(const std::string& path, const std::string& group,
                                        const std::string& key) const {
    void* kf = key_file_new_();
    std::optional<std::string> out;
    if (key_file_load_(kf, path.c_str(), 0, nullptr)) {
      if (char* v = key_file_get_string_(kf, group.c_str(), key.c_str(), nullptr)) {
        out = v;
        free_(v);
      }
    }
    key_file_free_(kf);
    return out;
  }

  std::optional<std::vector<std::string>> shell_parse_argv(const std::string& line) const {
    int argc = 0;
    char** argv = nullptr;
    if (!shell_parse_argv_(line.c_str(), &argc, &argv, nullptr)) return std::nullopt;
    std::vector<std::string> out(argv, argv + argc);
    strfreev_(argv);
    return out;
  }

 private:
  template <typename F>
  F sym(const char* name) {
    return reinterpret_cast<F>(dlsym(handle_, name));
  }
  void* handle_ = nullptr;
  void* (*key_file_new_)() = nullptr;
  int (*key_file_load_)(void*, const char*, int, void**) = nullptr;
  char* (*key_file_get_string_)(void*, const char*, const char*, void**) = nullptr;
  void (*key_file_free_)(void*) = nullptr;
  int (*shell_parse_argv_)(const char*, int*, char***, void**) = nullptr;
  void (*strfreev_)(char**) = nullptr;
  void (*free_)(void*) = nullptr;
};

// The launcher's field code expansion for one local file (the Desktop Entry spec, "The Exec
// key"): %f %F %u %U become the file (a local path is a valid URI argument for these apps),
// %% a percent sign; the other codes are not in our entries.
std::vector<std::string> expand(const std::vector<std::string>& words, const std::string& file) {
  std::vector<std::string> out;
  for (const auto& w : words) {
    if (w == "%f" || w == "%F" || w == "%u" || w == "%U") {
      out.push_back(file);
      continue;
    }
    std::string s;
    for (size_t i = 0; i < w.size(); ++i) {
      if (w[i] == '%' && i + 1 < w.size() && w[i + 1] == '%') ++i;
      s += w[i];
    }
    out.push_back(s);
  }
  return out;
}

std::optional<std::string> find_program(const std::string& name) {
  for (const char* dir : {"/usr/local/bin", "/usr/bin", "/bin"}) {
    const std::string p = std::string(dir) + "/" + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return std::nullopt;
}

// A made-up app: its entry's Exec copies the file it is given to ~/got.txt, and its action
// (an `env` prefix, a %% in a quoted argument) writes $GREETING to ~/env.txt. The Exec lines
// use the single quotes the spec does not allow but GLib and many real entries do; the
// wrapper must quote them the spec's way. Backslashes are doubled for the key file.
const char* kEntry =
    "[Desktop Entry]\n"
    "Type=Application\n"
    "Name=IT writer\n"
    "Name[de]=IT-Schreiber\n"
    "TryExec=/bin/sh\n"
    "Exec=/bin/sh -c 'cat \"$1\" > \"$HOME/got.txt\"' sh %f\n"
    "Actions=greet;\n"
    "\n"
    "[Desktop Action greet]\n"
    "Name=Greet\n"
    "Exec=env GREETING=hello /bin/sh -c 'printf \"%%s\\\\n\" \"$GREETING\" > \"$HOME/env.txt\"'\n";

class DesktopIt : public SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    data_home_ = in_home("data-home");
    system_dir_ = outside_dir("desktop-sys");
    make_dirs(system_dir_ + "/applications");
    write_file(system_dir_ + "/applications/org.example.ItWriter.desktop", kEntry);
    make_dirs(in_home(".config/sandbox/profiles"));
    write_file(in_home(".config/sandbox/profiles/itwriter.yaml"),
               "version: 1\nextends: [default]\ncommand: [/bin/sh]\n");
    document_ = in_home("my doc.txt");
    write_file(document_, "payload 42\n");
  }

  std::vector<std::string> env() const {
    auto e = SandboxTest::env();
    e.push_back("XDG_DATA_HOME=" + data_home_);
    e.push_back("XDG_DATA_DIRS=" + system_dir_);
    return e;
  }
  SpawnOptions options() const {
    SpawnOptions o = SandboxTest::options();
    o.env = env();
    return o;
  }
  Result desktop(const std::vector<std::string>& args) {
    std::vector<std::string> a = {"desktop"};
    a.insert(a.end(), args.begin(), args.end());
    return sandbox(a, options());
  }

  std::string wrapper() const { return data_home_ + "/applications/org.example.ItWriter.desktop"; }
  std::string upper(const std::string& rel) const {
    return data_home_ + "/sandbox/itwriter/upper/" + rel;
  }

  // The argv a desktop runs for GROUP of the wrapper, with the document as its file.
  std::vector<std::string> command_of(const Glib& glib, const std::string& group) {
    const auto exec = glib.get_string(wrapper(), group, "Exec");
    EXPECT_TRUE(exec.has_value()) << group;
    const auto words = glib.shell_parse_argv(exec.value_or(""));
    EXPECT_TRUE(words.has_value()) << *exec;
    return expand(words.value_or(std::vector<std::string>{}), document_);
  }

  // Waits for the processes a launcher left to us (this process is their subreaper).
  static void reap_children(int timeout_s) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      const pid_t r = waitpid(-1, nullptr, WNOHANG);
      if (r < 0) return;  // ECHILD: none left
      if (r == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  std::string data_home_, system_dir_, document_;
};

TEST_F(DesktopIt, InstallRunListRemove) {
  Glib glib;
  if (!glib.loaded()) GTEST_SKIP() << "libglib-2.0.so.0 cannot be loaded: " << dlerror();

  Result r = desktop({"install", "itwriter"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out, "installed " + wrapper() + " (shadows " + system_dir_ +
                       "/applications/org.example.ItWriter.desktop)\n");
  EXPECT_EQ(glib.get_string(wrapper(), "Desktop Entry", "X-Sandbox-App"), "itwriter");
  EXPECT_EQ(glib.get_string(wrapper(), "Desktop Entry", "TryExec"), paths().launcher);

  // The entry's Exec, as a desktop runs it: the program runs in the sandbox, where the home is
  // the copy-on-write view, so its write lands in the layer and the real home is unchanged.
  const auto main_argv = command_of(glib, "Desktop Entry");
  ASSERT_FALSE(main_argv.empty());
  EXPECT_EQ(main_argv[0], paths().launcher);
  r = run(main_argv, options());
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_FALSE(exists(in_home("got.txt"))) << "the write reached the real home";
  EXPECT_EQ(read_file(upper("got.txt")), "payload 42\n");

  // The action: its env prefix reaches the program inside; `%%` is a percent sign.
  r = run(command_of(glib, "Desktop Action greet"), options());
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_FALSE(exists(in_home("env.txt")));
  EXPECT_EQ(read_file(upper("env.txt")), "hello\n");

  r = desktop({"list"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find(wrapper() + "  itwriter  shadows " + system_dir_ +
                       "/applications/org.example.ItWriter.desktop\n"),
            std::string::npos)
      << r.out;

  r = desktop({"remove", "itwriter"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out, "removed " + wrapper() + "\n");
  EXPECT_FALSE(exists(wrapper()));
  EXPECT_TRUE(exists(system_dir_ + "/applications/org.example.ItWriter.desktop"));
}

TEST_F(DesktopIt, GeneratedEntriesValidate) {
  const auto validate = find_program("desktop-file-validate");
  if (!validate)
    GTEST_SKIP() << "desktop-file-validate is not installed (apt-get install desktop-file-utils)";
  Result r = desktop({"install", "itwriter"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  r = desktop({"install", "itwriter", "--alongside"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  for (const auto& file :
       {wrapper(), data_home_ + "/applications/sandbox-org.example.ItWriter.desktop"}) {
    const Result v = run({*validate, file}, options());
    EXPECT_EQ(v.exit_code, 0) << file << "\n" << v.describe() << *read_file(file);
    EXPECT_EQ(v.out + v.err, "") << file << "\n" << *read_file(file);
  }
}

// GLib's own launcher (what GNOME and other GLib desktops run when the entry is clicked).
TEST_F(DesktopIt, GioLaunchRunsTheWrapperInTheSandbox) {
  const auto gio = find_program("gio");
  if (!gio) GTEST_SKIP() << "gio is not installed (apt-get install libglib2.0-bin)";
  Result r = desktop({"install", "itwriter", "--alongside"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const std::string entry = data_home_ + "/applications/sandbox-org.example.ItWriter.desktop";
  r = run({*gio, "launch", entry, document_}, options());
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  // gio returns once the launcher has started; wait for the app's write.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!exists(upper("got.txt")) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  reap_children(30);
  EXPECT_EQ(read_file(upper("got.txt")), "payload 42\n");
  EXPECT_FALSE(exists(in_home("got.txt"))) << "the write reached the real home";
}

TEST_F(DesktopIt, NoProfileOrNoEntryFails) {
  Result r = desktop({"install", "nosuchapp"});
  EXPECT_EQ(r.exit_code, 125) << r.describe();
  EXPECT_NE(r.err.find("sandbox: no profile named 'nosuchapp' (looked in " +
                       in_home(".config/sandbox/profiles")),
            std::string::npos)
      << r.err;
  write_file(in_home(".config/sandbox/profiles/lonely.yaml"),
             "version: 1\ncommand: [/usr/bin/lonely]\n");
  r = desktop({"install", "lonely"});
  EXPECT_EQ(r.exit_code, 125) << r.describe();
  EXPECT_NE(r.err.find("no desktop entry runs lonely in " + system_dir_ + "/applications"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("desktop_entry:"), std::string::npos) << r.err;
  EXPECT_FALSE(exists(data_home_ + "/applications"));
}

}  // namespace
}  // namespace sandbox::it
