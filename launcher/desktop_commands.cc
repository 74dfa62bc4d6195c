#include "launcher/desktop_commands.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "desktop/entry.h"
#include "launcher/cli.h"
#include "profiles/profile.h"

namespace sandbox::launcher {

namespace {

constexpr int kOk = 0;
constexpr int kFailed = 125;

void say(std::FILE* f, const std::string& s) { std::fputs(s.c_str(), f); }

int fail(const DesktopIo& io, const std::string& message) {
  say(io.err, "sandbox: " + message + "\n");
  return kFailed;
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

std::string self_exe() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "sandbox";  // no /proc: the menu then finds it on $PATH, if at all
  return std::string(buf, static_cast<size_t>(n));
}

std::string wrappers_dir(const HostFacts& host) { return host.xdg_data_home + "/applications"; }

// The id of the entry at `path`, from its place below an applications/ directory.
std::string id_of_source(const std::string& path) {
  const std::string marker = "/applications/";
  const size_t at = path.rfind(marker);
  std::string id =
      at == std::string::npos ? desktop::base_name(path) : path.substr(at + marker.size());
  std::replace(id.begin(), id.end(), '/', '-');
  return id;
}

std::string relation(const desktop::Wrapper& w) {
  if (w.source.empty()) return "?";
  struct stat st;
  const bool gone = stat(w.source.c_str(), &st) != 0;
  return (w.id == id_of_source(w.source) ? "shadows " : "next to ") + w.source +
         (gone ? " (gone)" : "");
}

// The app's system entries: the profile's desktop_entry, else those that run its program.
std::optional<std::vector<desktop::SystemEntry>> entries_of(const profiles::Profile& profile,
                                                            const std::string& app,
                                                            const std::vector<std::string>& dirs,
                                                            const DesktopIo& io) {
  const std::string where =
      dirs.empty() ? "(no directories: $XDG_DATA_DIRS has no absolute path)" : join(dirs, ", ");
  if (profile.desktop_entry) {
    if (auto e = desktop::find_entry_by_id(dirs, *profile.desktop_entry))
      return std::vector<desktop::SystemEntry>{*e};
    fail(io, "no desktop entry '" + *profile.desktop_entry + "' (desktop_entry of " + profile.file +
                 ") in " + where);
    return std::nullopt;
  }
  std::vector<std::string> programs;
  if (profile.command) programs.push_back(desktop::base_name(profile.command->front()));
  if (std::find(programs.begin(), programs.end(), app) == programs.end()) programs.push_back(app);
  auto found = desktop::find_entries_by_program(dirs, programs);
  if (found.empty()) {
    fail(io, "no desktop entry runs " + join(programs, " or ") + " in " + where +
                 "; name the app's entry in " + profile.file +
                 ", e.g. `desktop_entry: org.example.App.desktop`");
    return std::nullopt;
  }
  return found;
}

// Refuses to replace a file that is not a wrapper of this app.
bool check_target(const std::string& target, const std::string& app, const DesktopIo& io) {
  struct stat st;
  if (lstat(target.c_str(), &st) != 0) return true;
  const auto ours = S_ISREG(st.st_mode) ? desktop::read_wrapper(target) : std::nullopt;
  if (!ours) {
    fail(io, target + " exists and was not written by sandbox (it has no " + desktop::kAppKey +
                 "); leaving it alone. Move it away, or use --alongside");
    return false;
  }
  if (ours->app != app) {
    fail(io, target + " is the wrapper of app '" + ours->app + "'; run `sandbox desktop remove " +
                 ours->app + "` first");
    return false;
  }
  return true;
}

int install_wrappers(const HostFacts& host, const std::string& app, const DesktopOptions& options,
                     const DesktopIo& io) {
  const profiles::Loader loader(
      profiles::default_search_dirs(host.xdg_config_home, host.home, host.share_dir));
  if (!loader.find(app)) {
    return fail(io, "no profile named '" + app + "' (looked in " +
                        join(loader.search_dirs(), ", ") + "); a menu entry runs `sandbox " + app +
                        "`, which needs one: write " + loader.search_dirs().front() + "/" + app +
                        ".yaml (with `desktop_entry: ID.desktop` to name the app's entry)");
  }
  profiles::Profile profile;
  try {
    profile = loader.load(app);
  } catch (const profiles::ProfileError& e) {
    return fail(io, e.what());
  }
  const auto dirs = desktop::applications_dirs(host.getenv("XDG_DATA_DIRS"));
  const auto entries = entries_of(profile, app, dirs, io);
  if (!entries) return kFailed;

  desktop::SandboxLaunch launch;
  launch.sandbox = options.sandbox_exe.empty() ? self_exe() : options.sandbox_exe;
  launch.app = app;
  launch.app_program = profile.command ? profile.command->front() : app;
  launch.app_is_subcommand = is_reserved_word(app);

  // Everything is checked and made before the first file is written.
  struct Planned {
    desktop::SystemEntry entry;
    std::string target, text;
  };
  std::vector<Planned> planned;
  const std::string dir = wrappers_dir(host);
  try {
    for (const auto& e : *entries) {
      Planned p{e, dir + "/" + desktop::wrapper_id(e, options.alongside), ""};
      if (!check_target(p.target, app, io)) return kFailed;
      p.text = desktop::make_wrapper(e, launch, options.alongside);
      planned.push_back(std::move(p));
    }
    for (const auto& p : planned) {
      if (options.dry_run) {
        say(io.out, "# " + p.target + "\n" + p.text + "\n");
        continue;
      }
      desktop::write_file_atomically(p.target, p.text);
      say(io.out, "installed " + p.target + " (" + (options.alongside ? "next to " : "shadows ") +
                      p.entry.path + ")\n");
    }
  } catch (const desktop::DesktopError& e) {
    return fail(io, e.what());
  }
  if (!options.dry_run && options.refresh_database) desktop::refresh_desktop_database(dir);
  return kOk;
}

int remove_wrappers(const HostFacts& host, const std::string& app, const DesktopOptions& options,
                    const DesktopIo& io) {
  const std::string dir = wrappers_dir(host);
  int removed = 0;
  for (const auto& w : desktop::list_wrappers(dir)) {
    if (w.app != app) continue;
    if (options.dry_run) {
      say(io.out, "would remove " + w.path + "\n");
      continue;
    }
    if (unlink(w.path.c_str()) != 0 && errno != ENOENT)
      return fail(io, w.path + ": cannot remove it: " + std::strerror(errno));
    say(io.out, "removed " + w.path + "\n");
    ++removed;
  }
  if (removed == 0 && !options.dry_run)
    say(io.err, "sandbox: no menu entries of " + app + " in " + dir + "\n");
  if (removed > 0 && options.refresh_database) desktop::refresh_desktop_database(dir);
  return kOk;
}

int list_installed(const HostFacts& host, const DesktopIo& io) {
  const std::string dir = wrappers_dir(host);
  const auto wrappers = desktop::list_wrappers(dir);
  if (wrappers.empty()) {
    say(io.err, "sandbox: no menu entries installed (in " + dir + ")\n");
    return kOk;
  }
  int file_w = 4, app_w = 3;
  for (const auto& w : wrappers) {
    file_w = std::max(file_w, static_cast<int>(w.path.size()));
    app_w = std::max(app_w, static_cast<int>(w.app.size()));
  }
  std::fprintf(io.out, "%-*s  %-*s  %s\n", file_w, "FILE", app_w, "APP", "ENTRY");
  for (const auto& w : wrappers)
    std::fprintf(io.out, "%-*s  %-*s  %s\n", file_w, w.path.c_str(), app_w, w.app.c_str(),
                 relation(w).c_str());
  return kOk;
}

}  // namespace

int run_desktop(const HostFacts& host, const std::vector<std::string>& args,
                const DesktopOptions& options, const DesktopIo& io) {
  const std::string usage = "desktop install APP [--alongside] | remove APP | list";
  if (args.empty()) return fail(io, "desktop needs a command: " + usage);
  const std::string& verb = args[0];
  if (verb != "install" && verb != "remove" && verb != "list")
    return fail(io, "desktop: '" + verb + "' is not one of install, remove, list");
  if (options.alongside && verb != "install")
    return fail(io, "--alongside applies to desktop install only");
  if (verb == "list") {
    if (args.size() != 1) return fail(io, "desktop list takes no operands");
    return list_installed(host, io);
  }
  if (args.size() != 2) return fail(io, "desktop " + verb + " takes one APP");
  const std::string& app = args[1];
  if (!profiles::is_valid_profile_name(app))
    return fail(io, "'" + app +
                        "' is not a valid app name (letters, digits, '.', '_', '-'; not "
                        "starting with '.')");
  return verb == "install" ? install_wrappers(host, app, options, io)
                           : remove_wrappers(host, app, options, io);
}

}  // namespace sandbox::launcher
