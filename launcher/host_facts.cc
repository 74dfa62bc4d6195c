#include "launcher/host_facts.h"

#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <algorithm>
#include <filesystem>

extern char** environ;

namespace sandbox::launcher {

const std::vector<std::string>& system_root_names() {
  static const std::vector<std::string> names = {"usr", "etc",   "opt",   "srv",  "var",
                                                 "bin", "sbin",  "lib",   "lib32", "lib64",
                                                 "libx32"};
  return names;
}

std::string HostFacts::getenv(const std::string& name) const {
  const std::string prefix = name + "=";
  for (const auto& kv : environ)
    if (kv.rfind(prefix, 0) == 0) return kv.substr(prefix.size());
  return {};
}

namespace {

std::string real_path_or(const std::string& path) {
  char buf[PATH_MAX];
  if (!path.empty() && realpath(path.c_str(), buf) != nullptr) return buf;
  return path;
}

// XDG base directories must be absolute to count (XDG Base Directory spec).
std::string xdg_or(const HostFacts& f, const char* name, const std::string& fallback) {
  std::string v = f.getenv(name);
  if (v.empty() || v[0] != '/') return fallback;
  return v;
}

std::string exe_path() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  buf[n] = '\0';
  return buf;
}

std::string exe_share_dir(const std::string& exe) {
  if (exe.empty()) return "/usr/share/sandbox";
  return (std::filesystem::path(exe).parent_path().parent_path() / "share" / "sandbox").string();
}

// Our helper programs: next to the launcher in the build tree, in <prefix>/libexec/sandbox
// when installed.
std::string find_helper(const std::string& exe, const char* name) {
  if (exe.empty()) return "";
  const std::filesystem::path dir = std::filesystem::path(exe).parent_path();
  for (const auto& p : {dir / name, dir.parent_path() / "libexec" / "sandbox" / name})
    if (access(p.c_str(), X_OK) == 0) return p.string();
  return "";
}

}  // namespace

std::string sandbox_state_dir(const HostFacts& host) { return host.xdg_data_home + "/sandbox"; }

HostFacts gather_host_facts() {
  HostFacts f;
  f.uid = getuid();
  f.gid = getgid();
  for (char** e = environ; e && *e; ++e) f.environ.emplace_back(*e);

  const passwd* pw = getpwuid(f.uid);
  f.user = pw ? pw->pw_name : std::to_string(f.uid);
  std::string home = f.getenv("HOME");
  if (home.empty() || home[0] != '/') home = pw ? pw->pw_dir : "/";
  f.home = real_path_or(home);

  f.xdg_config_home = xdg_or(f, "XDG_CONFIG_HOME", f.home + "/.config");
  f.xdg_data_home = xdg_or(f, "XDG_DATA_HOME", f.home + "/.local/share");
  f.xdg_cache_home = xdg_or(f, "XDG_CACHE_HOME", f.home + "/.cache");
  f.xdg_state_home = xdg_or(f, "XDG_STATE_HOME", f.home + "/.local/state");
  f.xdg_runtime_dir = xdg_or(f, "XDG_RUNTIME_DIR", "");

  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof(cwd)) != nullptr) f.cwd = cwd;
  const std::string exe = exe_path();
  f.share_dir = exe_share_dir(exe);
  struct stat exe_st {};
  if (!exe.empty() && stat("/proc/self/exe", &exe_st) == 0) {
    f.exe_stamp = std::to_string(exe_st.st_dev) + ":" + std::to_string(exe_st.st_ino) + ":" +
                  std::to_string(exe_st.st_size) + ":" + std::to_string(exe_st.st_mtim.tv_sec) +
                  "." + std::to_string(exe_st.st_mtim.tv_nsec) + ":" +
                  std::to_string(exe_st.st_ctim.tv_sec) + "." + std::to_string(exe_st.st_ctim.tv_nsec);
  }

  for (const auto& name : system_root_names()) {
    const std::string path = "/" + name;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) continue;
    RootEntry entry{name, S_ISLNK(st.st_mode), {}};
    if (entry.is_symlink) {
      char buf[PATH_MAX];
      ssize_t n = readlink(path.c_str(), buf, sizeof(buf) - 1);
      if (n <= 0) continue;
      entry.link_target.assign(buf, n);
    } else if (!S_ISDIR(st.st_mode)) {
      continue;
    }
    f.root_entries.push_back(entry);
  }

  // Debian with systemd-resolved or NetworkManager makes /etc/resolv.conf a symlink into /run,
  // which the sandbox replaces with a fresh tmpfs.
  std::string resolv = real_path_or("/etc/resolv.conf");
  if (resolv != "/etc/resolv.conf" && resolv.rfind("/etc/", 0) != 0) f.resolv_conf_target = resolv;

  auto find_program = [](const char* name) {
    for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"}) {
      const std::string p = std::string(dir) + "/" + name;
      if (access(p.c_str(), X_OK) == 0) return p;
    }
    return std::string();
  };
  f.fuse_overlayfs = find_program("fuse-overlayfs");
  f.dbus_proxy = find_program("xdg-dbus-proxy");
  f.pasta = find_program("pasta");
  f.net_helper = find_helper(exe, "sandbox-net");

  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) == 0) f.hostname = name;
  f.exists = [](const std::string& path) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0;
  };
  f.list_dir = [](const std::string& path) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(path, ec)) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  };

  f.stdin_is_tty = isatty(STDIN_FILENO);
  f.stdout_is_tty = isatty(STDOUT_FILENO);
  return f;
}

}  // namespace sandbox::launcher
