#include "launcher/instance.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

#include "launcher/error.h"
#include "launcher/sys.h"

namespace sandbox::launcher {

namespace {

std::string escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string unescape(const std::string& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) {
      out += v[i + 1] == 'n' ? '\n' : v[i + 1];
      ++i;
    } else {
      out += v[i];
    }
  }
  return out;
}

std::string read_small_file(const std::string& path) { return read_file(path).value_or(""); }

// Field 22 of /proc/PID/stat (start time in clock ticks since boot); 0 when gone.
}  // namespace

unsigned long long process_start_time(pid_t pid) {
  const std::string stat = read_small_file("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(stat.substr(paren + 2));
  std::string f;
  for (int i = 3; i <= 22 && (fields >> f); ++i)
    if (i == 22) return std::stoull(f);
  return 0;
}

namespace {

pid_t parent_of(pid_t pid) {
  const std::string status = read_small_file("/proc/" + std::to_string(pid) + "/status");
  const size_t at = status.find("\nPPid:");
  if (at == std::string::npos) return -1;
  return static_cast<pid_t>(std::strtol(status.c_str() + at + 6, nullptr, 10));
}

std::vector<pid_t> all_pids() {
  std::vector<pid_t> pids;
  DIR* d = opendir("/proc");
  if (!d) return pids;
  while (dirent* e = readdir(d)) {
    char* end;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (*end == '\0' && pid > 0) pids.push_back(static_cast<pid_t>(pid));
  }
  closedir(d);
  std::sort(pids.begin(), pids.end());
  return pids;
}

// Creates `path` (one level) 0700 if missing; refuses a symlink or a dir owned by another.
void ensure_private_dir(const std::string& path) {
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) throw sys_error("create", path);
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) throw sys_error("stat", path);
  if (!S_ISDIR(st.st_mode) || st.st_uid != getuid())
    throw sys_error("use", path, EPERM, "it is not a directory of yours; remove it");
}

// A lock that nobody holds means the launcher that took it is gone.
bool lock_is_held(const std::string& lock_path) {
  Fd fd(open(lock_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return false;
  return flock(fd.get(), LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
}

void remove_record_dir(const std::string& dir) {
  unlink((dir + "/record").c_str());
  unlink((dir + "/net.log").c_str());
  unlink((dir + "/pasta.pid").c_str());
  unlink((dir + "/lock").c_str());
  rmdir(dir.c_str());
}

}  // namespace

std::string encode_record(const InstanceRecord& r) {
  std::ostringstream o;
  o << "id=" << escape(r.id) << "\n"
    << "app=" << escape(r.app) << "\n"
    << "profile=" << escape(r.profile) << "\n"
    << "launcher_pid=" << r.launcher_pid << "\n"
    << "init_pid=" << r.init_pid << "\n"
    << "init_start=" << r.init_start << "\n"
    << "started=" << r.started << "\n"
    << "seccomp=" << escape(r.seccomp) << "\n"
    << "nested_userns=" << (r.nested_userns ? 1 : 0) << "\n"
    << "own_network=" << (r.own_network ? 1 : 0) << "\n"
    << "network=" << escape(r.network) << "\n"
    << "home=" << escape(r.home) << "\n"
    << "cwd=" << escape(r.cwd) << "\n"
    << "cgroup=" << escape(r.cgroup) << "\n";
  for (const auto& kv : r.env) o << "env=" << escape(kv) << "\n";
  return o.str();
}

std::optional<InstanceRecord> decode_record(const std::string& text) {
  InstanceRecord r;
  std::istringstream in(text);
  std::string line;
  try {
    while (std::getline(in, line)) {
      const size_t eq = line.find('=');
      if (eq == std::string::npos) return std::nullopt;
      const std::string key = line.substr(0, eq);
      const std::string value = unescape(line.substr(eq + 1));
      if (key == "id") r.id = value;
      else if (key == "app") r.app = value;
      else if (key == "profile") r.profile = value;
      else if (key == "launcher_pid") r.launcher_pid = std::stoi(value);
      else if (key == "init_pid") r.init_pid = std::stoi(value);
      else if (key == "init_start") r.init_start = std::stoull(value);
      else if (key == "started") r.started = std::stoll(value);
      else if (key == "seccomp") r.seccomp = value;
      else if (key == "nested_userns") r.nested_userns = value == "1";
      else if (key == "own_network") r.own_network = value == "1";
      else if (key == "network") r.network = value;
      else if (key == "home") r.home = value;
      else if (key == "cwd") r.cwd = value;
      else if (key == "cgroup") r.cgroup = value;
      else if (key == "env") r.env.push_back(value);
    }
  } catch (...) {
    return std::nullopt;
  }
  if (r.id.empty() || r.init_pid <= 0) return std::nullopt;
  return r;
}

std::string instances_dir(const HostFacts& host) {
  // Records must be invisible to sandboxes: $XDG_RUNTIME_DIR is a fresh tmpfs inside every
  // sandbox, and the fallback sits in the state tree, which every sandbox hides.
  if (!host.xdg_runtime_dir.empty()) return host.xdg_runtime_dir + "/sandbox";
  return sandbox_state_dir(host) + "/.run";
}

InstanceHandle InstanceHandle::create(const std::string& base, InstanceRecord record) {
  // Missing parents (the fallback's ~/.local/share) are made 0700, as the XDG spec asks.
  for (size_t slash = base.find('/', 1); slash != std::string::npos; slash = base.find('/', slash + 1))
    if (mkdir(base.substr(0, slash).c_str(), 0700) != 0 && errno != EEXIST)
      throw sys_error("create", base.substr(0, slash));
  ensure_private_dir(base.substr(0, base.rfind('/')));
  ensure_private_dir(base);
  unsigned char rnd[3];
  if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) throw sys_error("getrandom");
  char hex[8];
  std::snprintf(hex, sizeof(hex), "%02x%02x%02x", rnd[0], rnd[1], rnd[2]);
  record.id = record.app + "-" + hex;
  InstanceHandle h;
  h.id_ = record.id;
  h.dir_ = base + "/" + record.id;
  if (mkdir(h.dir_.c_str(), 0700) != 0) throw sys_error("create", h.dir_);
  h.lock_ = Fd(open((h.dir_ + "/lock").c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!h.lock_.valid() || flock(h.lock_.get(), LOCK_EX | LOCK_NB) != 0) throw sys_error("lock", h.dir_);
  // Written whole, then renamed: a reader sees no record or a complete one.
  const std::string tmp = h.dir_ + "/record.tmp";
  {
    Fd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    const std::string text = encode_record(record);
    if (!fd.valid() || write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      throw sys_error("write", tmp);
  }
  if (rename(tmp.c_str(), (h.dir_ + "/record").c_str()) != 0) throw sys_error("rename", tmp);
  return h;
}

InstanceHandle::~InstanceHandle() {
  if (dir_.empty()) return;
  remove_record_dir(dir_);
}

std::optional<Fd> try_lock_layer(const std::string& layer_root) {
  const std::string path = layer_root + "/lock";
  Fd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) throw sys_error("open", path);
  if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return std::nullopt;
    throw sys_error("lock", path);
  }
  return fd;
}

bool instance_alive(const InstanceRecord& r) {
  return r.init_pid > 0 && process_start_time(r.init_pid) == r.init_start;
}

std::vector<InstanceRecord> list_instances(const HostFacts& host) {
  std::vector<InstanceRecord> out;
  const std::string base = instances_dir(host);
  DIR* d = opendir(base.c_str());
  if (!d) return out;
  std::vector<std::string> names;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') names.emplace_back(e->d_name);
  closedir(d);
  for (const auto& name : names) {
    const std::string dir = base + "/" + name;
    auto rec = decode_record(read_small_file(dir + "/record"));
    const bool held = lock_is_held(dir + "/lock");
    if (!held) {
      // The launcher died. A dir without a record may be one being created right now: it is
      // left alone unless it is old.
      struct stat st;
      const bool old_dir = stat(dir.c_str(), &st) == 0 && st.st_mtime + 60 < std::time(nullptr);
      if (rec || old_dir) remove_record_dir(dir);
      continue;
    }
    if (!rec || !instance_alive(*rec)) continue;
    rec->dir = dir;
    out.push_back(*rec);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.started < b.started; });
  return out;
}

std::optional<InstanceRecord> find_instance(const HostFacts& host, const std::string& id_or_app) {
  std::optional<InstanceRecord> by_app;
  int apps = 0;
  for (auto& r : list_instances(host)) {
    if (r.id == id_or_app) return r;
    if (r.app == id_or_app) {
      by_app = r;
      ++apps;
    }
  }
  if (apps == 1) return by_app;
  return std::nullopt;
}

bool app_is_running(const HostFacts& host, const std::string& app) {
  for (const auto& r : list_instances(host))
    if (r.app == app) return true;
  const std::string lock = sandbox_state_dir(host) + "/" + app + "/lock";
  return lock_is_held(lock);
}

pid_t main_process_of(const InstanceRecord& r) {
  if (!instance_alive(r)) return 0;
  for (pid_t pid : all_pids())
    if (pid != r.init_pid && parent_of(pid) == r.init_pid) return pid;
  return 0;
}

unsigned long long instance_rss_kb(const InstanceRecord& r) {
  std::map<pid_t, pid_t> parent;
  for (pid_t pid : all_pids()) parent[pid] = parent_of(pid);
  unsigned long long total = 0;
  for (const auto& [pid, ppid] : parent) {
    (void)ppid;
    pid_t p = pid;
    int depth = 0;
    while (p > 1 && p != r.init_pid && depth++ < 64) {
      auto it = parent.find(p);
      p = it == parent.end() ? 0 : it->second;
    }
    if (p != r.init_pid) continue;
    const std::string status = read_small_file("/proc/" + std::to_string(pid) + "/status");
    const size_t at = status.find("\nVmRSS:");
    if (at != std::string::npos) total += std::strtoull(status.c_str() + at + 7, nullptr, 10);
  }
  return total;
}

}  // namespace sandbox::launcher
