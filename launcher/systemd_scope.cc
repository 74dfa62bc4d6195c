#include "launcher/systemd_scope.h"

#include <dlfcn.h>
#include <systemd/sd-bus.h>

#include <chrono>
#include <cmath>
#include <cstring>

namespace sandbox::launcher {

namespace {

// The few sd-bus entry points we use, looked up in libsystemd.so.0 at run time.
struct SdBus {
  decltype(&sd_bus_open_user) open_user;
  decltype(&sd_bus_unref) unref;
  decltype(&sd_bus_message_new_method_call) new_method_call;
  decltype(&sd_bus_message_append) append;
  decltype(&sd_bus_message_open_container) open_container;
  decltype(&sd_bus_message_close_container) close_container;
  decltype(&sd_bus_message_unref) message_unref;
  decltype(&sd_bus_call) call;
  decltype(&sd_bus_call_method) call_method;
  decltype(&sd_bus_message_read) read;
  decltype(&sd_bus_match_signal) match_signal;
  decltype(&sd_bus_process) process;
  decltype(&sd_bus_wait) wait;
  decltype(&sd_bus_error_free) error_free;
  decltype(&sd_bus_slot_unref) slot_unref;
  bool ok = false;
};

const SdBus& sdbus() {
  static SdBus s = [] {
    SdBus b;
    void* h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!h) return b;
    bool all = true;
    auto get = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(h, name));
      all = all && fn != nullptr;
    };
    get(b.open_user, "sd_bus_open_user");
    get(b.unref, "sd_bus_unref");
    get(b.new_method_call, "sd_bus_message_new_method_call");
    get(b.append, "sd_bus_message_append");
    get(b.open_container, "sd_bus_message_open_container");
    get(b.close_container, "sd_bus_message_close_container");
    get(b.message_unref, "sd_bus_message_unref");
    get(b.call, "sd_bus_call");
    get(b.call_method, "sd_bus_call_method");
    get(b.read, "sd_bus_message_read");
    get(b.match_signal, "sd_bus_match_signal");
    get(b.process, "sd_bus_process");
    get(b.wait, "sd_bus_wait");
    get(b.error_free, "sd_bus_error_free");
    get(b.slot_unref, "sd_bus_slot_unref");
    b.ok = all;
    return b;
  }();
  return s;
}

struct JobWait {
  std::string job;
  bool done = false;
  std::string result;
};

int on_job_removed(sd_bus_message* m, void* userdata, sd_bus_error*) {
  auto* w = static_cast<JobWait*>(userdata);
  uint32_t id;
  const char *path, *unit, *result;
  if (sdbus().read(m, "uoss", &id, &path, &unit, &result) >= 0 && w->job == path) {
    w->done = true;
    w->result = result;
  }
  return 0;
}

constexpr const char* kDest = "org.freedesktop.systemd1";
constexpr const char* kPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";

}  // namespace

std::vector<ScopeProperty> scope_properties(const profiles::Limits& l, const std::string& description) {
  std::vector<ScopeProperty> p;
  p.push_back({"Description", 's', 0, description});
  p.push_back({"Delegate", 'b', 1, ""});
  p.push_back({"CollectMode", 's', 0, "inactive-or-failed"});
  if (l.memory) {
    p.push_back({"MemoryMax", 't', *l.memory, ""});
    p.push_back({"MemorySwapMax", 't', 0, ""});
  }
  // cpu > 0: adding 0.5 rounds (no libm in the launcher).
  if (l.cpu) p.push_back({"CPUQuotaPerSecUSec", 't', static_cast<unsigned long long>(*l.cpu * 1e6 + 0.5), ""});
  if (l.pids) p.push_back({"TasksMax", 't', *l.pids, ""});
  if (l.io_weight) p.push_back({"IOWeight", 't', *l.io_weight, ""});
  return p;
}

std::string start_scope(const std::string& unit, pid_t pid, const profiles::Limits& limits,
                        const std::string& description) {
  const SdBus& b = sdbus();
  if (!b.ok) return "libsystemd.so.0 is not available";
  sd_bus* bus = nullptr;
  int r = b.open_user(&bus);
  if (r < 0) return std::string("no systemd user manager (user bus: ") + std::strerror(-r) + ")";
  struct Closer {
    const SdBus& b;
    sd_bus* bus;
    ~Closer() { b.unref(bus); }
  } closer{b, bus};

  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  // JobRemoved tells when the scope exists (and our process is in it).
  JobWait wait;
  sd_bus_slot* slot = nullptr;
  r = b.match_signal(bus, &slot, kDest, kPath, kManager, "JobRemoved", on_job_removed, &wait);
  if (r < 0) return std::string("cannot watch systemd jobs: ") + std::strerror(-r);
  b.call_method(bus, kDest, kPath, kManager, "Subscribe", &error, nullptr, "");
  b.error_free(&error);

  sd_bus_message* m = nullptr;
  r = b.new_method_call(bus, &m, kDest, kPath, kManager, "StartTransientUnit");
  if (r >= 0) r = b.append(m, "ss", unit.c_str(), "fail");
  if (r >= 0) r = b.open_container(m, 'a', "(sv)");
  if (r >= 0) r = b.append(m, "(sv)", "PIDs", "au", 1, static_cast<uint32_t>(pid));
  for (const auto& p : scope_properties(limits, description)) {
    if (r < 0) break;
    if (p.type == 't') r = b.append(m, "(sv)", p.name.c_str(), "t", static_cast<uint64_t>(p.number));
    if (p.type == 'b') r = b.append(m, "(sv)", p.name.c_str(), "b", static_cast<int>(p.number));
    if (p.type == 's') r = b.append(m, "(sv)", p.name.c_str(), "s", p.text.c_str());
  }
  if (r >= 0) r = b.close_container(m);
  if (r >= 0) r = b.append(m, "a(sa(sv))", 0);
  if (r < 0) {
    b.message_unref(m);
    b.slot_unref(slot);
    return std::string("cannot build the D-Bus call: ") + std::strerror(-r);
  }
  r = b.call(bus, m, 5 * 1000000ULL, &error, &reply);
  b.message_unref(m);
  if (r < 0) {
    std::string why = std::string("systemd refused the scope: ") + (error.message ? error.message : std::strerror(-r));
    b.error_free(&error);
    b.slot_unref(slot);
    return why;
  }
  const char* job = nullptr;
  if (b.read(reply, "o", &job) >= 0 && job) wait.job = job;
  b.message_unref(reply);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!wait.done && std::chrono::steady_clock::now() < deadline) {
    r = b.process(bus, nullptr);
    if (r < 0) break;
    if (r == 0) b.wait(bus, 100000);
  }
  b.slot_unref(slot);
  if (!wait.done) return "systemd did not finish starting the scope in time";
  if (wait.result != "done") return "systemd could not start the scope (" + wait.result + ")";
  return "";
}

}  // namespace sandbox::launcher
