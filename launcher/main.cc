// sandbox: argv -> Invocation -> (profile, host facts) -> SandboxSpec -> run.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include <cstdio>

#include "launcher/cli.h"
#include "launcher/cgroup.h"
#include "launcher/error.h"
#include "launcher/explain.h"
#include "launcher/instance.h"
#include "launcher/layer_commands.h"
#include "launcher/host_facts.h"
#include "launcher/plan.h"
#include "launcher/run.h"
#include "profiles/parse_cache.h"
#include "profiles/profile.h"

#ifndef SANDBOX_VERSION
#define SANDBOX_VERSION "0.0.0"
#endif

namespace {

using namespace sandbox;
using namespace sandbox::launcher;

constexpr int kLauncherFailed = 125;

RunStatus* g_status = nullptr;  // --json-status / --json-status-fd of `run` and `sandbox APP`

double now_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
char** g_argv = nullptr;  // main's argv, for exec_desktop_helper

int list_profiles(const profiles::Loader& loader) {
  for (const auto& p : loader.list()) {
    std::printf("%-16s %s\n", p.name.c_str(), p.description.c_str());
    std::printf("%-16s   %s\n", "", p.file.c_str());
    for (const auto& s : p.shadowed) std::printf("%-16s   (shadows %s)\n", "", s.c_str());
  }
  return 0;
}

int check_profiles(const profiles::Loader& loader, const std::vector<std::string>& files) {
  int rc = 0;
  for (const auto& f : files) {
    try {
      const profiles::Profile p = loader.load(f);
      std::printf("%s: ok (profile %s)\n", p.file.c_str(), p.name.c_str());
    } catch (const profiles::ProfileError& e) {
      std::fprintf(stderr, "%s\n", e.what());
      rc = kLauncherFailed;
    }
  }
  return rc;
}

std::string human_duration(long long seconds) {
  char buf[32];
  if (seconds < 60) std::snprintf(buf, sizeof(buf), "%llds", seconds);
  else if (seconds < 3600) std::snprintf(buf, sizeof(buf), "%lldm%02llds", seconds / 60, seconds % 60);
  else std::snprintf(buf, sizeof(buf), "%lldh%02lldm", seconds / 3600, (seconds / 60) % 60);
  return buf;
}

// The network filter's refusals so far: the lines of the record's net.log.
long long net_denials(const InstanceRecord& r) {
  if (r.network != "filtered" || r.dir.empty()) return -1;
  FILE* f = std::fopen((r.dir + "/net.log").c_str(), "re");
  if (!f) return 0;
  long long lines = 0;
  for (int c; (c = std::fgetc(f)) != EOF;) lines += c == '\n';
  std::fclose(f);
  return lines;
}

// With limits, the figures come from the sandbox's cgroup (memory now and at peak, CPU time,
// processes); without, memory is the resident memory of its processes.
int list_running(const HostFacts& host, bool json) {
  const auto now = static_cast<long long>(std::time(nullptr));
  const auto all = list_instances(host);
  struct Row {
    double mem_mb, peak_mb, cpu_s;
    long long procs;
  };
  auto figures = [](const InstanceRecord& r) {
    if (r.cgroup.empty()) return Row{instance_rss_kb(r) / 1024.0, -1, -1, -1};
    const CgroupUsage u = SandboxCgroup::adopt(r.cgroup).usage();
    return Row{u.memory_current / 1048576.0, u.memory_peak ? u.memory_peak / 1048576.0 : -1,
               u.cpu_usec / 1e6, static_cast<long long>(u.pids_current)};
  };
  if (json) {
    std::printf("[");
    for (size_t i = 0; i < all.size(); ++i) {
      const auto& r = all[i];
      const Row f = figures(r);
      std::printf("%s\n  {\"id\": %s, \"app\": %s, \"profile\": %s, \"pid\": %d, \"started\": %lld, "
                  "\"uptime_s\": %lld, \"memory_mb\": %.1f, \"peak_memory_mb\": %s, \"cpu_s\": %s, "
                  "\"processes\": %s, \"cgroup\": %s, \"network\": %s, \"net_denials\": %s}",
                  i ? "," : "", json_quote(r.id).c_str(), json_quote(r.app).c_str(),
                  json_quote(r.profile).c_str(), r.init_pid, r.started, now - r.started, f.mem_mb,
                  f.peak_mb < 0 ? "null" : std::to_string(f.peak_mb).c_str(),
                  f.cpu_s < 0 ? "null" : std::to_string(f.cpu_s).c_str(),
                  f.procs < 0 ? "null" : std::to_string(f.procs).c_str(),
                  r.cgroup.empty() ? "null" : json_quote(r.cgroup).c_str(), json_quote(r.network).c_str(),
                  net_denials(r) < 0 ? "null" : std::to_string(net_denials(r)).c_str());
    }
    std::printf("%s]\n", all.empty() ? "" : "\n");
    return 0;
  }
  std::printf("%-24s %-14s %-10s %8s %8s %10s %10s %8s %5s %s\n", "ID", "APP", "PROFILE", "PID", "UPTIME",
              "MEMORY", "PEAK", "CPU", "PROCS", "NETWORK");
  for (const auto& r : all) {
    const Row f = figures(r);
    char peak[32] = "-", cpu[32] = "-", procs[32] = "-";
    if (f.peak_mb >= 0) std::snprintf(peak, sizeof(peak), "%.1fMB", f.peak_mb);
    if (f.cpu_s >= 0) std::snprintf(cpu, sizeof(cpu), "%.1fs", f.cpu_s);
    if (f.procs >= 0) std::snprintf(procs, sizeof(procs), "%lld", f.procs);
    std::string net = r.network;
    if (const long long d = net_denials(r); d >= 0) net += " (" + std::to_string(d) + " refused)";
    std::printf("%-24s %-14s %-10s %8d %8s %8.1fMB %10s %8s %5s %s\n", r.id.c_str(), r.app.c_str(),
                r.profile.c_str(), r.init_pid, human_duration(now - r.started).c_str(), f.mem_mb, peak,
                cpu, procs, net.c_str());
  }
  return 0;
}

std::optional<InstanceRecord> find_or_say(const HostFacts& host, const std::string& id) {
  auto r = find_instance(host, id);
  if (!r)
    std::fprintf(stderr, "sandbox: no running sandbox '%s' (see `sandbox ps`)\n", id.c_str());
  return r;
}

// SIGTERM to pid 1 (which forwards it to the app), then SIGKILL of the whole sandbox after a
// grace period. A pidfd pins the process, so a recycled pid is never signalled.
int stop_instances(const HostFacts& host, const std::vector<std::string>& ids) {
  constexpr int kGraceMs = 10000;
  int rc = 0;
  for (const auto& id : ids) {
    auto r = find_or_say(host, id);
    if (!r) {
      rc = kLauncherFailed;
      continue;
    }
    Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, r->init_pid, 0)));
    if (!pidfd.valid() || !instance_alive(*r)) continue;  // ended meanwhile
    auto wait_gone = [&](int ms) {
      pollfd p{pidfd.get(), POLLIN, 0};
      return poll(&p, 1, ms) > 0;
    };
    syscall(SYS_pidfd_send_signal, pidfd.get(), SIGTERM, nullptr, 0);
    if (!wait_gone(kGraceMs)) {
      std::fprintf(stderr, "sandbox: %s did not stop within %d s; killing it\n", r->id.c_str(), kGraceMs / 1000);
      syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
      wait_gone(5000);
    }
    std::printf("stopped %s\n", r->id.c_str());
  }
  return rc;
}

std::vector<std::string> default_shell(const InstanceRecord& r) {
  for (const auto& kv : r.env)
    if (kv.rfind("SHELL=", 0) == 0 && kv.size() > 6) return {kv.substr(6)};
  return {"/bin/sh"};
}

// `sandbox APP` / `run`: claim the app's layer; when a sandbox of the app already holds it,
// `instance: single` joins that sandbox (a second browser window) and `multi` runs with a
// throwaway layer, since one overlay upper dir cannot be mounted twice.
// --json-status: what the spec says of the run (run_sandbox adds how it went).
void describe_run(const SandboxSpec& spec, RunStatus& st) {
  st.app = spec.app;
  st.profile = spec.profile_name;
  st.profile_file = spec.profile_file;
  st.command = spec.argv;
  st.cwd = spec.cwd;
  st.timeout = spec.limits.timeout.value_or(0);
  st.limits_backend = spec.limits.memory || spec.limits.cpu || spec.limits.pids || spec.limits.io_weight
                          ? "rlimits" : "none";
  st.network = profiles::to_string(spec.network);
  st.network_allow = spec.net_allow;
  st.net_log = spec.net_log;
  st.home_mode = profiles::to_string(spec.home_mode);
  st.home_layer = spec.layer_dir;
  for (const auto& m : spec.mounts)
    if (m.kind == MountKind::kBind && !m.read_only && (m.why.find("rw") != std::string::npos))
      st.writable_paths.push_back(m.source);
  if (spec.home_mode == profiles::HomeMode::kBind) st.writable_paths.push_back(spec.home);
}

int launch(const Invocation& inv, const ProfileChoice& choice, const profiles::Profile& profile,
           const HostFacts& host, SandboxSpec spec) {
  std::optional<Fd> layer_lock;
  try {
    layer_lock = claim_layer(spec);
  } catch (SetupError& e) {
    std::fprintf(stderr, "%s\n", e.format().c_str());
    return e.exit_code;
  }
  if (!layer_lock) {
    const auto mode = profile.instance.value_or(profiles::InstanceMode::kSingle);
    if (inv.command == Command::kRunApp && mode == profiles::InstanceMode::kSingle) {
      if (auto r = find_instance(host, spec.app)) {
        std::fprintf(stderr, "sandbox: %s is already running (%s); running the command inside it\n",
                     spec.app.c_str(), r->id.c_str());
        return enter_sandbox(*r, spec.argv, inv.verbose);
      }
    }
    std::fprintf(stderr,
                 "sandbox: the home layer of %s is in use by a running sandbox; this one gets a "
                 "throwaway copy-on-write home (its changes are dropped at exit)\n",
                 spec.app.c_str());
    Invocation ephemeral = inv;
    ephemeral.overrides.home = profiles::HomeMode::kEphemeral;
    spec = build_spec(ephemeral, choice, profile, host);
  }
  for (const auto& note : spec.notes) std::fprintf(stderr, "sandbox: %s\n", note.c_str());
  if (g_status) describe_run(spec, *g_status);
  return run_sandbox(spec, g_status);
}

// `sandbox desktop ...` is served by the sandbox-desktop helper (launcher/desktop_main.cc),
// next to us in the build tree, in <prefix>/libexec/sandbox when installed.
int exec_desktop_helper(const HostFacts& host) {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return kLauncherFailed;
  self[n] = '\0';
  const std::string dir = std::string(self).substr(0, std::string(self).rfind('/'));
  const std::string prefix = dir.substr(0, dir.rfind('/'));
  setenv("SANDBOX_LAUNCHER", self, 1);
  (void)host;
  for (const std::string& helper : {dir + "/sandbox-desktop", prefix + "/libexec/sandbox/sandbox-desktop"}) {
    if (access(helper.c_str(), X_OK) != 0) continue;
    g_argv[0] = const_cast<char*>(helper.c_str());
    execv(helper.c_str(), g_argv);
  }
  std::fprintf(stderr, "sandbox: desktop: the sandbox-desktop helper is not installed next to %s\n", self);
  return kLauncherFailed;
}

int run_layer_command(const Invocation& inv, const HostFacts& host) {
  LayerCommandArgs args;
  args.app = inv.app;
  args.paths = inv.args;
  args.stat = inv.stat;
  args.json = inv.json;
  args.force = inv.force;
  args.dry_run = inv.dry_run;
  args.yes = inv.yes;
  if (inv.command == Command::kDiff) return run_diff(host, args);
  if (inv.command == Command::kCommit) return run_commit(host, args);
  return run_reset(host, args);
}

int run(const Invocation& inv) {
  const HostFacts host = gather_host_facts();
  profiles::Loader loader(
      profiles::default_search_dirs(host.xdg_config_home, host.home, host.share_dir));
  // Launches parse their profile through the cache (profiles/parse_cache.h); `check` and
  // `profiles` always parse, and leave no entries for files given only to be checked.
  const profiles::ParseCache cache(sandbox_state_dir(host) + "/.cache/profiles", host.exe_stamp);
  if (inv.command == Command::kRun || inv.command == Command::kRunApp ||
      inv.command == Command::kExplain)
    loader.use_cache(&cache);
  switch (inv.command) {
    case Command::kHelp:
      std::fputs(help_text().c_str(), stdout);
      return 0;
    case Command::kVersion:
      std::printf("sandbox %s\n", SANDBOX_VERSION);
      return 0;
    case Command::kProfiles:
      return list_profiles(loader);
    case Command::kCheck:
      return check_profiles(loader, inv.args);
    case Command::kPs:
      return list_running(host, inv.json);
    case Command::kStop: {
      std::vector<std::string> ids = {inv.app};
      ids.insert(ids.end(), inv.args.begin(), inv.args.end());
      return stop_instances(host, ids);
    }
    case Command::kEnter: {
      auto r = find_or_say(host, inv.app);
      if (!r) return kLauncherFailed;
      return enter_sandbox(*r, inv.args.empty() ? default_shell(*r) : inv.args, inv.verbose);
    }
    case Command::kDiff:
    case Command::kCommit:
    case Command::kReset:
      return run_layer_command(inv, host);
    case Command::kDesktop:
      return exec_desktop_helper(host);
    case Command::kExplain:
    case Command::kRun:
    case Command::kRunApp:
      break;
  }
  const ProfileChoice choice =
      choose_profile(inv, [&](const std::string& name) { return loader.find(name).has_value(); });
  if (choice.fell_back_to_default && inv.command == Command::kRunApp)
    std::fprintf(stderr, "sandbox: no profile named '%s'; running it under profile 'default'\n",
                 inv.app.substr(inv.app.rfind('/') + 1).c_str());
  const profiles::Profile profile = loader.load(choice.profile);
  if (inv.verbose)
    std::fprintf(stderr, "sandbox: profile %s: %u file(s) parsed, %u from the cache in %s\n",
                 choice.profile.c_str(), cache.misses(), cache.hits(), cache.dir().c_str());
  const SandboxSpec spec = build_spec(inv, choice, profile, host);
  if (inv.command == Command::kExplain) {
    std::fputs((inv.json ? explain_json(spec) : explain_text(spec)).c_str(), stdout);
    return 0;
  }
  if (inv.dry_run) {
    std::fputs((inv.json ? explain_json(spec) : dry_run_text(spec)).c_str(), stdout);
    return 0;
  }
  return launch(inv, choice, profile, host, spec);
}

}  // namespace

int main(int argc, char** argv) {
  g_argv = argv;
  // A caller may start us with stdin, stdout or stderr closed (CI runners, daemons): give
  // each closed one /dev/null, so that no fd of ours (the channel to pid 1, a pipe) lands on
  // 0, 1 or 2 and reaches the app as its standard input or output.
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    const int null = open("/dev/null", O_RDWR);
    if (null >= 0 && null != fd) {
      dup2(null, fd);
      close(null);
    }
  }
  std::vector<std::string> args(argv, argv + argc);
  Invocation inv;
  try {
    inv = parse_cli(args);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "sandbox: %s\nTry 'sandbox --help'.\n", e.what());
    return kLauncherFailed;
  }
  if (inv.command == Command::kHelp && argc < 2) {
    std::fputs(help_text().c_str(), stderr);
    return kLauncherFailed;
  }
  RunStatus status;
  const bool wants_status = (!inv.json_status.empty() || inv.json_status_fd >= 0) &&
                            (inv.command == Command::kRun || inv.command == Command::kRunApp) && !inv.dry_run;
  if (wants_status) {
    if (inv.json_status_fd >= 0 && fcntl(inv.json_status_fd, F_GETFD) < 0) {
      std::fprintf(stderr, "sandbox: --json-status-fd %d: not an open file descriptor\n", inv.json_status_fd);
      return kLauncherFailed;
    }
    // The sandbox must not inherit it.
    if (inv.json_status_fd >= 0) fcntl(inv.json_status_fd, F_SETFD, FD_CLOEXEC);
    status.version = SANDBOX_VERSION;
    status.started = now_seconds();
    status.app = inv.app;
    status.profile = inv.profile;
    status.command = inv.args;
    g_status = &status;
  }
  int code = kLauncherFailed;
  std::string error;
  try {
    code = run(inv);
  } catch (const profiles::ProfileError& e) {
    error = e.what();
  } catch (const PlanError& e) {
    error = e.what();
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!error.empty()) {
    std::fprintf(stderr, "sandbox: %s\n", error.c_str());
    status.error = "sandbox: " + error;
    status.launcher_failed = true;
  }
  if (wants_status) {
    status.exit_code = code;
    status.ended = now_seconds();
    const std::string json = format_status_json(status);
    std::string failed;
    if (!inv.json_status.empty()) failed = write_status_file(inv.json_status, json);
    if (failed.empty() && inv.json_status_fd >= 0) failed = write_status_fd(inv.json_status_fd, json);
    if (!failed.empty()) {
      std::fprintf(stderr, "sandbox: --json-status: %s\n", failed.c_str());
      if (code == 0) code = kLauncherFailed;
    }
  }
  return code;
}
