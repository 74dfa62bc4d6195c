#include "launcher/userns_diagnosis.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <vector>

#include "launcher/error.h"

namespace sandbox::launcher {
namespace {

constexpr const char* kInitUidMap = "         0          0 4294967295\n";
constexpr const char* kNestedUidMap = "         0       1000          1\n";

// Debian 12 out of the box: every file that exists says yes.
UsernsHost debian_host() {
  UsernsHost h;
  h.unprivileged_userns_clone = "1\n";
  h.max_user_namespaces = "63382\n";
  h.lsm_label = "unconfined\n";
  h.proc_status = "Name:\tsandbox\nSeccomp:\t0\nSeccomp_filters:\t0\n";
  h.uid_map = kInitUidMap;
  h.exe = "/usr/bin/sandbox";
  return h;
}

// Ubuntu 24.04 with the restriction on and nothing installed.
UsernsHost ubuntu_host() {
  UsernsHost h = debian_host();
  h.unprivileged_userns_clone = std::nullopt;
  h.apparmor_restrict = "1\n";
  h.apparmor_loaded = "snap.lxd.lxc (enforce)\nunprivileged_userns (enforce)\n";
  return h;
}

constexpr const char* kProfile =
    "abi <abi/4.0>,\ninclude <tunables/global>\n\n"
    "profile sandbox /usr/bin/sandbox flags=(unconfined) {\n  userns,\n}\n";

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(UsernsDiagnosis, NothingKnownOnAHealthyHost) {
  EXPECT_FALSE(diagnose_userns(UsernsStep::kClone, EPERM, debian_host()).known);
  EXPECT_FALSE(diagnose_userns(UsernsStep::kIdMap, EPERM, debian_host()).known);
  EXPECT_FALSE(diagnose_userns(UsernsStep::kClone, EINVAL, debian_host()).known);
}

TEST(UsernsDiagnosis, DebianSysctlOff) {
  UsernsHost h = debian_host();
  h.unprivileged_userns_clone = "0\n";
  const auto d = diagnose_userns(UsernsStep::kClone, EPERM, h);
  ASSERT_TRUE(d.known);
  EXPECT_TRUE(has(d.cause, "kernel.unprivileged_userns_clone is 0"));
  EXPECT_TRUE(has(d.fix, "sysctl -w kernel.unprivileged_userns_clone=1"));
  EXPECT_TRUE(has(d.hint(), "; fix: `sudo sysctl"));
}

TEST(UsernsDiagnosis, MaxUserNamespacesZero) {
  UsernsHost h = debian_host();
  h.max_user_namespaces = "0\n";
  const auto d = diagnose_userns(UsernsStep::kClone, ENOSPC, h);
  ASSERT_TRUE(d.known);
  EXPECT_TRUE(has(d.cause, "user.max_user_namespaces is 0"));
  EXPECT_TRUE(has(d.fix, "sysctl -w user.max_user_namespaces=15000"));
  EXPECT_TRUE(has(d.fix, "/etc/sysctl.d/"));
}

TEST(UsernsDiagnosis, MaxUserNamespacesZeroInAContainer) {
  UsernsHost h = debian_host();
  h.max_user_namespaces = "0\n";
  h.uid_map = kNestedUidMap;
  const auto d = diagnose_userns(UsernsStep::kClone, ENOSPC, h);
  ASSERT_TRUE(d.known);
  EXPECT_TRUE(has(d.cause, "max_user_namespaces is 0 in the user namespace this runs in"));
  EXPECT_TRUE(has(d.fix, "sysctl -w user.max_user_namespaces=15000"));
}

TEST(UsernsDiagnosis, LimitUsedUp) {
  UsernsHost h = debian_host();
  h.max_user_namespaces = "100\n";
  const auto d = diagnose_userns(UsernsStep::kClone, ENOSPC, h);
  ASSERT_TRUE(d.known);
  EXPECT_TRUE(has(d.cause, "already owns user.max_user_namespaces (100 here)"));
  EXPECT_TRUE(has(d.fix, "user.max_user_namespaces=200"));
}

TEST(UsernsDiagnosis, NestedTooDeepOrLimitAbove) {
  UsernsHost h = debian_host();
  h.uid_map = kNestedUidMap;
  for (int err : {ENOSPC, EUSERS}) {
    const auto d = diagnose_userns(UsernsStep::kClone, err, h);
    ASSERT_TRUE(d.known);
    EXPECT_TRUE(has(d.cause, "32 user namespaces are already nested"));
    EXPECT_TRUE(has(d.cause, "enclosing namespace"));
  }
}

TEST(UsernsDiagnosis, UbuntuRestrictionAtTheIdMap) {
  UsernsHost h = ubuntu_host();
  h.lsm_label = "unprivileged_userns (enforce)\n";  // what the child reads in its new namespace
  for (auto step : {UsernsStep::kSetgroups, UsernsStep::kIdMap}) {
    const auto d = diagnose_userns(step, EPERM, h);
    ASSERT_TRUE(d.known);
    EXPECT_TRUE(has(d.cause, "apparmor_restrict_unprivileged_userns=1"));
    EXPECT_TRUE(has(d.fix, "apparmor_parser -r /etc/apparmor.d/sandbox"));
    EXPECT_TRUE(has(d.fix, "kernel.apparmor_restrict_unprivileged_userns=0"));
  }
}

TEST(UsernsDiagnosis, UbuntuRestrictionAtClone) {
  const auto d = diagnose_userns(UsernsStep::kClone, EACCES, ubuntu_host());
  ASSERT_TRUE(d.known);
  EXPECT_TRUE(has(d.cause, "AppArmor restricts unprivileged user namespaces"));
  EXPECT_TRUE(has(d.fix, "/etc/apparmor.d/sandbox"));
}

TEST(UsernsDiagnosis, ProfileInstalledButNotLoaded) {
  UsernsHost h = ubuntu_host();
  h.apparmor_profile = kProfile;
  const auto d = diagnose_userns(UsernsStep::kIdMap, EPERM, h);
  ASSERT_TRUE(d.known);
  EXPECT_EQ(d.fix, "load the installed profile: `sudo apparmor_parser -r /etc/apparmor.d/sandbox`");
}

TEST(UsernsDiagnosis, ProfileForAnotherPath) {
  UsernsHost h = ubuntu_host();
  h.apparmor_profile = kProfile;
  h.exe = "/home/ann/src/sandbox/build/bin/sandbox";
  const auto d = diagnose_userns(UsernsStep::kIdMap, EPERM, h);
  ASSERT_TRUE(d.known);
  EXPECT_TRUE(has(d.fix, "grants user namespaces to /usr/bin/sandbox only, and this is "
                         "/home/ann/src/sandbox/build/bin/sandbox"));
}

TEST(UsernsDiagnosis, OurOwnProfileIsNotBlamed) {
  UsernsHost h = ubuntu_host();
  h.apparmor_profile = kProfile;
  h.lsm_label = "sandbox (unconfined)\n";
  EXPECT_FALSE(diagnose_userns(UsernsStep::kClone, EPERM, h).known);
  EXPECT_FALSE(diagnose_userns(UsernsStep::kIdMap, EPERM, h).known);
}

TEST(UsernsDiagnosis, ConfinedByAnotherProfile) {
  UsernsHost h = ubuntu_host();
  h.lsm_label = "snap.code.code (enforce)\n";
  const auto d = diagnose_userns(UsernsStep::kClone, EACCES, h);
  ASSERT_TRUE(d.known);
  EXPECT_TRUE(has(d.cause, "AppArmor profile `snap.code.code`"));
  EXPECT_TRUE(has(d.fix, "`userns,`"));
}

TEST(UsernsDiagnosis, AlreadyInARestrictedNamespace) {
  UsernsHost h = ubuntu_host();
  h.lsm_label = "unprivileged_userns (enforce)\n";
  const auto d = diagnose_userns(UsernsStep::kClone, EACCES, h);
  ASSERT_TRUE(d.known);
  EXPECT_TRUE(has(d.cause, "`unprivileged_userns`"));
}

TEST(UsernsDiagnosis, ContainerSeccompFilter) {
  UsernsHost h = debian_host();
  h.proc_status = "Name:\tsandbox\nNoNewPrivs:\t0\nSeccomp:\t2\nSeccomp_filters:\t1\n";
  // Docker's AppArmor profile does not mediate user namespaces; its seccomp filter refuses.
  h.lsm_label = "docker-default (enforce)\n";
  const auto d = diagnose_userns(UsernsStep::kClone, EPERM, h);
  ASSERT_TRUE(d.known);
  EXPECT_TRUE(has(d.cause, "seccomp filter"));
  EXPECT_TRUE(has(d.fix, "--security-opt seccomp=unconfined"));
}

TEST(UsernsDiagnosis, SelinuxEnforcing) {
  UsernsHost h = debian_host();
  h.selinux_enforce = "1";
  h.lsm_label = "unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023";  // not AppArmor's
  for (auto step : {UsernsStep::kClone, UsernsStep::kIdMap}) {
    const auto d = diagnose_userns(step, EACCES, h);
    ASSERT_TRUE(d.known);
    EXPECT_TRUE(has(d.cause, "SELinux is enforcing"));
    EXPECT_TRUE(has(d.fix, "ausearch -m avc"));
  }
  h.selinux_enforce = "0";
  EXPECT_FALSE(diagnose_userns(UsernsStep::kClone, EACCES, h).known);
}

TEST(UsernsDiagnosis, OtherErrnosAreLeftToTheGenericHint) {
  UsernsHost h = ubuntu_host();
  EXPECT_FALSE(diagnose_userns(UsernsStep::kIdMap, EINVAL, h).known);
  EXPECT_FALSE(diagnose_userns(UsernsStep::kClone, ENOMEM, h).known);
}

TEST(UsernsDiagnosis, ReadsEachFileThroughTheReader) {
  const std::map<std::string, std::string> files = {
      {"/proc/sys/user/max_user_namespaces", "0\n"},
      {"/proc/self/attr/current", "unconfined\n"},
      {"/proc/self/uid_map", kInitUidMap},
      {"/etc/apparmor.d/sandbox", kProfile},
  };
  std::vector<std::string> asked;
  const UsernsHost h = read_userns_host([&](const std::string& path) -> std::optional<std::string> {
    asked.push_back(path);
    auto it = files.find(path);
    if (it == files.end()) return std::nullopt;
    return it->second;
  });
  EXPECT_EQ(h.max_user_namespaces, "0\n");
  EXPECT_FALSE(h.unprivileged_userns_clone);
  EXPECT_EQ(h.lsm_label, "unconfined\n");  // attr/apparmor/current missing: the shared file
  EXPECT_EQ(h.apparmor_profile, kProfile);
  EXPECT_NE(std::find(asked.begin(), asked.end(), "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
            asked.end());
  EXPECT_NE(std::find(asked.begin(), asked.end(), "/sys/fs/selinux/enforce"), asked.end());
  EXPECT_TRUE(has(diagnose_userns(UsernsStep::kClone, ENOSPC, h).hint(), "max_user_namespaces is 0"));
}

TEST(UsernsDiagnosis, StepOfEachOperation) {
  EXPECT_EQ(userns_step_for("clone"), UsernsStep::kClone);
  EXPECT_EQ(userns_step_for("unshare"), UsernsStep::kClone);
  EXPECT_EQ(userns_step_for("write setgroups"), UsernsStep::kSetgroups);
  EXPECT_EQ(userns_step_for("write uid_map"), UsernsStep::kIdMap);
  EXPECT_EQ(userns_step_for("write gid_map"), UsernsStep::kIdMap);
  EXPECT_FALSE(userns_step_for("mount overlay"));
}

TEST(UsernsDiagnosis, DiagnosedHintFallsBackToTheGenericOne) {
  // Whatever this host is, an operation that is not about user namespaces keeps hint_for().
  EXPECT_EQ(diagnosed_hint("mount overlay", EINVAL), hint_for("mount overlay", EINVAL));
  EXPECT_FALSE(diagnosed_hint("clone", ENOSPC).empty());
}

}  // namespace
}  // namespace sandbox::launcher
