#include "launcher/cgroup.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <libmount/libmount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "launcher/error.h"
#include "launcher/sys.h"

namespace sandbox::launcher {

namespace {

std::string read_text(const std::string& path) { return read_file(path).value_or(""); }

// "key value" lines (cpu.stat, memory.events) -> value of key.
unsigned long long keyed_value(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string k;
  unsigned long long v;
  while (in >> k >> v)
    if (k == key) return v;
  return 0;
}

// Where cgroup v2 is mounted, found with libmount in our mount table. libmount (and the
// libblkid, libselinux and libpcre2 it pulls in) is opened only here, for sandboxes with
// limits: linked, it would cost every launch ~0.3 ms of dynamic loading.
std::string cgroup2_mount() {
  static void* lib = dlopen("libmount.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return "";
  auto sym = [](const char* name) { return dlsym(lib, name); };
  auto new_table = reinterpret_cast<decltype(&mnt_new_table)>(sym("mnt_new_table"));
  auto parse_mtab = reinterpret_cast<decltype(&mnt_table_parse_mtab)>(sym("mnt_table_parse_mtab"));
  auto new_iter = reinterpret_cast<decltype(&mnt_new_iter)>(sym("mnt_new_iter"));
  auto next_fs = reinterpret_cast<decltype(&mnt_table_next_fs)>(sym("mnt_table_next_fs"));
  auto fstype = reinterpret_cast<decltype(&mnt_fs_get_fstype)>(sym("mnt_fs_get_fstype"));
  auto target = reinterpret_cast<decltype(&mnt_fs_get_target)>(sym("mnt_fs_get_target"));
  auto free_iter = reinterpret_cast<decltype(&mnt_free_iter)>(sym("mnt_free_iter"));
  auto unref_table = reinterpret_cast<decltype(&mnt_unref_table)>(sym("mnt_unref_table"));
  if (!new_table || !parse_mtab || !new_iter || !next_fs || !fstype || !target || !free_iter ||
      !unref_table)
    return "";
  std::string out;
  libmnt_table* tab = new_table();
  if (!tab) return out;
  if (parse_mtab(tab, nullptr) == 0) {
    libmnt_iter* it = new_iter(MNT_ITER_FORWARD);
    libmnt_fs* fs = nullptr;
    while (it && next_fs(tab, it, &fs) == 0) {
      const char* type = fstype(fs);
      if (type && std::strcmp(type, "cgroup2") == 0) {
        out = target(fs);
        break;
      }
    }
    free_iter(it);
  }
  unref_table(tab);
  return out;
}

bool write_text(const std::string& path, const std::string& value) {
  Fd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  return fd.valid() && write(fd.get(), value.data(), value.size()) == static_cast<ssize_t>(value.size());
}

bool cgroup_is_empty(const std::string& dir) {
  const std::string procs = read_text(dir + "/cgroup.procs");
  return procs.find_first_not_of(" \n") == std::string::npos;
}

}  // namespace

bool wants_cgroup(const profiles::Limits& l) { return l.memory || l.cpu || l.pids || l.io_weight; }

std::vector<std::pair<std::string, std::string>> cgroup_writes(const profiles::Limits& l) {
  std::vector<std::pair<std::string, std::string>> w;
  if (l.memory) {
    w.emplace_back("memory.max", std::to_string(*l.memory));
    w.emplace_back("memory.swap.max", "0");
  }
  if (l.cpu) {
    // cpu > 0 (the parser checks): adding 0.5 rounds, and keeps libm out of the launcher.
    const auto quota = static_cast<unsigned long long>(*l.cpu * 100000.0 + 0.5);
    w.emplace_back("cpu.max", std::to_string(quota < 1000 ? 1000 : quota) + " 100000");
  }
  if (l.pids) w.emplace_back("pids.max", std::to_string(*l.pids));
  if (l.io_weight) w.emplace_back("io.weight", "default " + std::to_string(*l.io_weight));
  return w;
}

std::vector<std::string> controllers_needed(const profiles::Limits& l) {
  std::vector<std::string> c;
  if (l.memory) c.push_back("memory");
  if (l.cpu) c.push_back("cpu");
  if (l.pids) c.push_back("pids");
  if (l.io_weight) c.push_back("io");
  return c;
}

std::string cgroup2_path_of(const std::string& proc_cgroup) {
  std::istringstream in(proc_cgroup);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  return "";
}

std::optional<SandboxCgroup> SandboxCgroup::create(const std::string& name, const profiles::Limits& limits,
                                                   std::string& why_not) {
  const std::string mount = cgroup2_mount();
  if (mount.empty()) {
    why_not = "no cgroup v2 mount";
    return std::nullopt;
  }
  const std::string own = cgroup2_path_of(read_text("/proc/self/cgroup"));
  if (own.empty()) {
    why_not = "this process is in no cgroup v2";
    return std::nullopt;
  }
  // Our own cgroup holds processes (us, the shell), so it cannot have child cgroups with
  // controllers ("no internal processes"): the sandbox's cgroup is a sibling, in the parent,
  // which must be delegated to us (writable, controllers enabled for its children).
  std::string parent = mount + own;
  if (parent.back() == '/') parent.pop_back();
  parent = parent.substr(0, parent.rfind('/'));
  if (parent.size() < mount.size()) parent = mount;
  if (access(parent.c_str(), W_OK) != 0 || access((parent + "/cgroup.procs").c_str(), W_OK) != 0) {
    why_not = "no delegated cgroup (" + parent + " is not writable)";
    return std::nullopt;
  }
  // A delegated cgroup has the controllers available (cgroup.controllers); enabling them for
  // its children is the delegatee's job (cgroup v2's "no internal processes" rule allows it
  // because the processes live in leaves, as ours does).
  auto has = [](const std::string& list, const std::string& c) {
    std::istringstream in(list);
    std::string w;
    while (in >> w)
      if (w == c) return true;
    return false;
  };
  for (const auto& c : controllers_needed(limits)) {
    if (has(read_text(parent + "/cgroup.subtree_control"), c)) continue;
    if (!has(read_text(parent + "/cgroup.controllers"), c)) {
      why_not = "the " + c + " controller is not available in " + parent;
      return std::nullopt;
    }
    if (!write_text(parent + "/cgroup.subtree_control", "+" + c)) {
      why_not = "cannot enable the " + c + " controller for children of " + parent + ": " + std::strerror(errno);
      return std::nullopt;
    }
  }
  // Leftovers of launchers that died: empty sandbox-* cgroups.
  if (DIR* d = opendir(parent.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n.rfind("sandbox-", 0) == 0 && cgroup_is_empty(parent + "/" + n)) rmdir((parent + "/" + n).c_str());
    }
    closedir(d);
  }
  SandboxCgroup cg;
  cg.owned_ = true;
  cg.path_ = parent + "/sandbox-" + name;
  if (mkdir(cg.path_.c_str(), 0755) != 0) {
    why_not = "cannot create " + cg.path_ + ": " + std::strerror(errno);
    return std::nullopt;
  }
  for (const auto& [file, value] : cgroup_writes(limits)) {
    if (!write_text(cg.path_ + "/" + file, value)) {
      why_not = "cannot write " + file + " in " + cg.path_ + ": " + std::strerror(errno);
      rmdir(cg.path_.c_str());
      cg.path_.clear();
      return std::nullopt;
    }
  }
  cg.dir_ = Fd(open(cg.path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  return cg;
}

SandboxCgroup SandboxCgroup::adopt(const std::string& path) {
  SandboxCgroup cg;
  cg.path_ = path;
  return cg;
}

std::optional<SandboxCgroup> SandboxCgroup::of_process(pid_t pid) {
  const std::string mount = cgroup2_mount();
  const std::string own = cgroup2_path_of(read_text("/proc/" + std::to_string(pid) + "/cgroup"));
  if (mount.empty() || own.empty()) return std::nullopt;
  return adopt(mount + own);
}

bool SandboxCgroup::add(pid_t pid) const { return write_text(path_ + "/cgroup.procs", std::to_string(pid)); }

SandboxCgroup::~SandboxCgroup() {
  if (path_.empty() || !owned_) return;
  dir_.reset();
  // The sandbox's processes are gone or going (pid 1 has exited); the cgroup empties a
  // moment later.
  for (int i = 0; i < 200 && rmdir(path_.c_str()) != 0 && errno == EBUSY; ++i) usleep(5000);
}

CgroupUsage SandboxCgroup::usage() const {
  CgroupUsage u;
  if (path_.empty()) return u;
  const std::string peak = read_text(path_ + "/memory.peak");
  if (!peak.empty()) u.memory_peak = std::strtoull(peak.c_str(), nullptr, 10);
  u.cpu_usec = keyed_value(read_text(path_ + "/cpu.stat"), "usage_usec");
  const std::string events = read_text(path_ + "/memory.events");
  u.oom_kills = keyed_value(events, "oom_kill");
  u.ooms = keyed_value(events, "oom");
  u.pids_max_hits = keyed_value(read_text(path_ + "/pids.events"), "max");
  u.memory_current = std::strtoull(read_text(path_ + "/memory.current").c_str(), nullptr, 10);
  u.pids_current = std::strtoull(read_text(path_ + "/pids.current").c_str(), nullptr, 10);
  u.pids_peak = std::strtoull(read_text(path_ + "/pids.peak").c_str(), nullptr, 10);
  return u;
}

void apply_rlimits_in_child(const profiles::Limits& limits, bool fallback) {
  auto set = [](int resource, unsigned long long value, const char* name) {
    rlimit r;
    r.rlim_cur = r.rlim_max = value == ~0ULL ? RLIM_INFINITY : static_cast<rlim_t>(value);
    if (setrlimit(resource, &r) != 0) throw sys_error(std::string("setrlimit ") + name);
  };
  for (const auto& [name, value] : limits.rlimits) {
    if (name == "nofile") set(RLIMIT_NOFILE, value, "nofile");
    else if (name == "nproc") set(RLIMIT_NPROC, value, "nproc");
    else if (name == "core") set(RLIMIT_CORE, value, "core");
    else if (name == "fsize") set(RLIMIT_FSIZE, value, "fsize");
  }
  if (fallback && limits.memory) set(RLIMIT_AS, *limits.memory, "as");
  // RLIMIT_NPROC counts the processes of our uid in each user namespace on the way up
  // (Linux 5.14+ ucounts), so in the sandbox's own namespace it counts the sandbox only:
  // a fair stand-in for pids.max (threads count too, as in pids.max).
  if (fallback && limits.pids && !limits.rlimits.count("nproc")) set(RLIMIT_NPROC, *limits.pids, "nproc");
}

}  // namespace sandbox::launcher
