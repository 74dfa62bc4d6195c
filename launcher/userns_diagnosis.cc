#include "launcher/userns_diagnosis.h"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <sstream>

#include "launcher/sys.h"

namespace sandbox::launcher {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\n") - b + 1);
}

bool is(const std::optional<std::string>& fact, const char* value) {
  return fact && trim(*fact) == value;
}

// An AppArmor label reads "unconfined" or "NAME (MODE)"; an SELinux context read from the
// shared /proc/self/attr/current reads "user:role:type:level" and is not ours to judge.
std::optional<std::string> apparmor_label(const UsernsHost& h) {
  if (!h.lsm_label) return std::nullopt;
  const std::string label = trim(*h.lsm_label);
  if (label == "unconfined") return label;
  if (label.size() > 2 && label.back() == ')' && label.find(" (") != std::string::npos) return label;
  return std::nullopt;
}

std::string label_name(const std::string& label) { return label.substr(0, label.find(" (")); }

bool label_unconfined(const std::string& label) {
  return label == "unconfined" || label.find(" (unconfined)") != std::string::npos;
}

// The value of "Key:" in /proc/self/status, or "".
std::string status_field(const UsernsHost& h, const std::string& key) {
  if (!h.proc_status) return "";
  std::istringstream in(*h.proc_status);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0) return trim(line.substr(key.size() + 1));
  return "";
}

// In the initial user namespace uid_map is "0 0 4294967295"; anything else means we run in a
// user namespace already (a container, a sandbox, `unshare -U`).
bool nested(const UsernsHost& h) {
  if (!h.uid_map) return false;
  std::istringstream in(*h.uid_map);
  std::string inside, outside, count;
  in >> inside >> outside >> count;
  return !(inside == "0" && outside == "0" && count == "4294967295");
}

// The path our shipped profile attaches to: "profile sandbox /usr/bin/sandbox flags=...".
std::string profile_attachment(const std::string& profile) {
  std::istringstream in(profile);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(trim(line));
    std::string kw, name, path;
    words >> kw >> name >> path;
    if (kw == "profile" && !path.empty() && path[0] == '/') return path;
  }
  return "";
}

bool profile_loaded(const UsernsHost& h) {
  if (!h.apparmor_loaded) return false;
  std::istringstream in(*h.apparmor_loaded);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("sandbox (", 0) == 0) return true;
  return false;
}

const std::string kReload = std::string("`sudo apparmor_parser -r ") + kAppArmorProfileFile + "`";

// What to do about AppArmor refusing our namespace, given what is installed and loaded.
std::string apparmor_fix(const UsernsHost& h) {
  if (h.apparmor_profile) {
    const std::string attached = profile_attachment(*h.apparmor_profile);
    if (!attached.empty() && !h.exe.empty() && attached != h.exe)
      return std::string(kAppArmorProfileFile) + " grants user namespaces to " + attached +
             " only, and this is " + h.exe + ": run the installed " + attached +
             " (or copy the profile with this path and load it with `sudo apparmor_parser -r FILE`)";
    if (!profile_loaded(h)) return "load the installed profile: " + kReload;
    return "the profile in " + std::string(kAppArmorProfileFile) +
           " is loaded but does not apply; reload it with " + kReload +
           " and check `sudo aa-status` lists `sandbox`";
  }
  return std::string("install sandbox's AppArmor profile (the .deb or `sudo cmake --install BUILD` puts it in ") +
         kAppArmorProfileFile + ") and load it: " + kReload +
         "; or allow every program, less safely: "
         "`sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`";
}

const char* kSelinuxFix =
    "SELinux policy decides whether this domain may create user namespaces (`user_namespace "
    "{ create }`): see the denial with `sudo ausearch -m avc -ts recent`, then allow it with a "
    "local module (`audit2allow -M sandbox_userns`), or test with `sudo setenforce 0`";

UsernsDiagnosis found(std::string cause, std::string fix) {
  return UsernsDiagnosis{true, std::move(cause), std::move(fix)};
}

UsernsDiagnosis diagnose_clone(int err, const UsernsHost& h) {
  const auto label = apparmor_label(h);
  if (err == ENOSPC || err == EUSERS) {
    const std::string max = h.max_user_namespaces ? trim(*h.max_user_namespaces) : "";
    if (max == "0") {
      if (nested(h))
        return found("user.max_user_namespaces is 0 in the user namespace this runs in (a "
                     "container or another sandbox): it allows no new user namespaces",
                     "`sysctl -w user.max_user_namespaces=15000` as root of that namespace, or "
                     "start the container with user namespaces allowed");
      return found("user.max_user_namespaces is 0: this host allows no user namespaces",
                   "`sudo sysctl -w user.max_user_namespaces=15000` (to keep it, put "
                   "`user.max_user_namespaces=15000` in /etc/sysctl.d/50-sandbox.conf)");
    }
    const std::string here = max.empty() ? "" : " (" + max + " here)";
    if (nested(h))
      return found("no more user namespaces may be created from here: either the limit "
                   "user.max_user_namespaces" + here + " is used up, here or in an enclosing "
                   "namespace (a container), or 32 user namespaces are already nested",
                   "end sandboxes you no longer need (`sandbox ps`, `sandbox stop ID`), or raise "
                   "user.max_user_namespaces in the enclosing container or on the host");
    const long n = max.empty() ? 0 : std::strtol(max.c_str(), nullptr, 10);
    return found("this user already owns user.max_user_namespaces" + here + " user namespaces",
                 "end some (`lsns -t user`, `sandbox ps`), or raise the limit: `sudo sysctl -w "
                 "user.max_user_namespaces=" + std::to_string(n > 0 ? n * 2 : 15000) + "`");
  }
  if (err != EPERM && err != EACCES) return {};
  if (is(h.unprivileged_userns_clone, "0"))
    return found("kernel.unprivileged_userns_clone is 0: this kernel lets only root create user "
                 "namespaces",
                 "`sudo sysctl -w kernel.unprivileged_userns_clone=1` (to keep it, put "
                 "`kernel.unprivileged_userns_clone=1` in /etc/sysctl.d/50-sandbox.conf)");
  if (label && label_name(*label) == "unprivileged_userns")
    return found("this runs inside a user namespace that AppArmor restricted (label "
                 "`unprivileged_userns`): it may not create another",
                 "start sandbox from outside it, from a program with an AppArmor profile that "
                 "grants `userns`");
  // Before AppArmor: a container's profile (docker-default) is usually written for an older
  // policy ABI that does not mediate user namespaces; its seccomp filter is what refuses.
  if (status_field(h, "Seccomp") == "2")
    return found("this process runs under a seccomp filter (Seccomp: 2 in /proc/self/status), "
                 "as containers do: Docker's and Podman's default filters refuse new user "
                 "namespaces",
                 "run the container with `--security-opt seccomp=unconfined` or a seccomp "
                 "profile that allows clone/unshare with CLONE_NEWUSER (and, for Docker, "
                 "`--security-opt apparmor=unconfined`)");
  if (label && !label_unconfined(*label))
    return found("this process is confined by the AppArmor profile `" + label_name(*label) +
                     "`, which does not allow creating user namespaces",
                 "start sandbox from outside that profile, or add `userns,` to it and reload it "
                 "with `sudo apparmor_parser -r /etc/apparmor.d/FILE`");
  if (is(h.apparmor_restrict, "1") && label && label_name(*label) != "sandbox")
    return found("AppArmor restricts unprivileged user namespaces "
                 "(kernel.apparmor_restrict_unprivileged_userns=1) and no profile grants them "
                 "to sandbox",
                 apparmor_fix(h));
  if (is(h.selinux_enforce, "1"))
    return found("SELinux is enforcing and refused this domain a user namespace", kSelinuxFix);
  return {};
}

UsernsDiagnosis diagnose_id_map(int err, const UsernsHost& h) {
  if (err != EPERM && err != EACCES) return {};
  const auto label = apparmor_label(h);
  // Ubuntu 23.10+: an unconfined program's new user namespace is given the
  // `unprivileged_userns` profile, which denies every capability in it; writing an id map
  // needs CAP_SYS_ADMIN there (user_namespaces(7)), so this is where it shows.
  if ((label && label_name(*label) == "unprivileged_userns") ||
      (is(h.apparmor_restrict, "1") && !(label && label_name(*label) == "sandbox")))
    return found("AppArmor restricts unprivileged user namespaces "
                 "(kernel.apparmor_restrict_unprivileged_userns=1, Ubuntu 23.10 and later): "
                 "the sandbox's namespace got the `unprivileged_userns` profile, which denies "
                 "the capabilities it needs",
                 apparmor_fix(h));
  if (is(h.selinux_enforce, "1"))
    return found("SELinux is enforcing and refused the id map of the new user namespace",
                 kSelinuxFix);
  return {};
}


}  // namespace

UsernsHost read_userns_host(const ReadHostFile& read) {
  UsernsHost h;
  h.unprivileged_userns_clone = read("/proc/sys/kernel/unprivileged_userns_clone");
  h.max_user_namespaces = read("/proc/sys/user/max_user_namespaces");
  h.apparmor_restrict = read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
  h.selinux_enforce = read("/sys/fs/selinux/enforce");
  h.lsm_label = read("/proc/self/attr/apparmor/current");
  if (!h.lsm_label) h.lsm_label = read("/proc/self/attr/current");
  h.proc_status = read("/proc/self/status");
  h.uid_map = read("/proc/self/uid_map");
  h.apparmor_profile = read(kAppArmorProfileFile);
  h.apparmor_loaded = read("/sys/kernel/security/apparmor/profiles");
  return h;
}

UsernsHost read_userns_host() {
  UsernsHost h = read_userns_host(read_file);
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n > 0) h.exe.assign(buf, static_cast<size_t>(n));
  return h;
}

UsernsDiagnosis diagnose_userns(UsernsStep step, int err, const UsernsHost& host) {
  return step == UsernsStep::kClone ? diagnose_clone(err, host) : diagnose_id_map(err, host);
}

std::optional<UsernsStep> userns_step_for(const std::string& op) {
  if (op.rfind("clone", 0) == 0 || op.rfind("unshare", 0) == 0) return UsernsStep::kClone;
  if (op.rfind("write setgroups", 0) == 0) return UsernsStep::kSetgroups;
  if (op.rfind("write uid_map", 0) == 0 || op.rfind("write gid_map", 0) == 0)
    return UsernsStep::kIdMap;
  return std::nullopt;
}

}  // namespace sandbox::launcher
