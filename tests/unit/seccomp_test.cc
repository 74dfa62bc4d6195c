// The seccomp rule lists (pure), and the compiled filters loaded for real in forked children.
// Each real check runs the same probe twice: once without the filter (the control: if the
// kernel itself already answers with the expected errno, the check could not fail, so it is
// skipped with the reason) and once with it.
#include "launcher/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/keyctl.h>
#include <linux/mount.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <random>
#include <set>

#include "launcher/error.h"

namespace sandbox::launcher::seccomp {
namespace {

using profiles::SeccompPolicy;
using Args = std::array<uint64_t, 6>;

// The errno a rule list gives `syscall(args)` under libseccomp's semantics (a rule matches
// when all its comparisons hold), or 0 when it is allowed.
int verdict(const std::vector<Rule>& rules, const std::string& syscall, Args args = {}) {
  for (const Rule& rule : rules) {
    if (rule.syscall != syscall) continue;
    bool match = true;
    for (const ArgCmp& cmp : rule.args) {
      const uint64_t a = args[cmp.arg];
      switch (cmp.op) {
        case ArgCmp::Op::kEq: match &= a == cmp.value; break;
        case ArgCmp::Op::kNe: match &= a != cmp.value; break;
        case ArgCmp::Op::kMaskedEq: match &= (a & cmp.value) == cmp.value2; break;
        case ArgCmp::Op::kGe: match &= a >= cmp.value; break;
      }
    }
    if (match) return rule.errno_value;
  }
  return 0;
}

const std::vector<std::string> kMountApi = {"mount",     "umount",     "umount2",   "pivot_root",
                                            "fsopen",    "fsconfig",   "fsmount",   "fspick",
                                            "move_mount", "open_tree", "mount_setattr"};
const std::vector<std::string> kDebug = {"ptrace", "perf_event_open", "process_vm_readv",
                                         "process_vm_writev"};
const std::vector<std::string> kStrictOnly = {
    "chroot",        "io_uring_setup", "io_uring_enter", "io_uring_register", "mbind",
    "migrate_pages", "move_pages",     "set_mempolicy",  "memfd_secret",      "kcmp",
    "pidfd_getfd",   "settimeofday",   "clock_settime",  "clock_adjtime",     "adjtimex"};

TEST(SeccompRules, DefaultBlocksWhatFlatpakBlocks) {
  const auto rules = rules_for(SeccompPolicy::kDefault, false);
  for (const auto& name : kMountApi) EXPECT_EQ(verdict(rules, name), EPERM) << name;
  for (const auto& name : kDebug) EXPECT_EQ(verdict(rules, name), EPERM) << name;
  for (const char* name :
       {"add_key", "keyctl", "request_key", "init_module", "finit_module", "delete_module",
        "kexec_load", "kexec_file_load", "bpf", "userfaultfd", "syslog", "uselib", "acct",
        "swapon", "swapoff", "reboot", "quotactl", "nfsservctl", "lookup_dcookie", "vhangup",
        "open_by_handle_at", "name_to_handle_at", "unshare", "setns"})
    EXPECT_EQ(verdict(rules, name), EPERM) << name;
  EXPECT_EQ(verdict(rules, "clone3"), ENOSYS);
  EXPECT_EQ(verdict(rules, "clone", {CLONE_NEWUSER | SIGCHLD}), EPERM);
  EXPECT_EQ(verdict(rules, "clone", {(uint64_t{1} << 40) | CLONE_NEWUSER}), EPERM);
  EXPECT_EQ(verdict(rules, "clone", {CLONE_VM | CLONE_THREAD | CLONE_SIGHAND}), 0);
  for (const char* name : {"read", "write", "openat", "getpid", "execve"})
    EXPECT_EQ(verdict(rules, name), 0) << name;
  for (const auto& name : kStrictOnly) EXPECT_EQ(verdict(rules, name), 0) << name;
  for (const Rule& rule : rules) {
    EXPECT_FALSE(rule.why.empty()) << rule.syscall;
    EXPECT_NE(rule.errno_value, 0) << rule.syscall;
    for (const ArgCmp& cmp : rule.args) EXPECT_LT(cmp.arg, 6u) << rule.syscall;
  }
}

TEST(SeccompRules, TerminalIoctlsComparedOnLow32Bits) {
  const auto rules = rules_for(SeccompPolicy::kDefault, false);
  EXPECT_EQ(verdict(rules, "ioctl", {0, TIOCSTI}), EPERM);
  EXPECT_EQ(verdict(rules, "ioctl", {0, TIOCLINUX}), EPERM);
  EXPECT_EQ(verdict(rules, "ioctl", {0, (uint64_t{0xdead} << 32) | TIOCSTI}), EPERM);
  EXPECT_EQ(verdict(rules, "ioctl", {0, TCGETS}), 0);
  EXPECT_EQ(verdict(rules, "ioctl", {0, FIONREAD}), 0);
}

TEST(SeccompRules, PersonalityOnlyLinuxAndQuery) {
  const auto rules = rules_for(SeccompPolicy::kDefault, false);
  for (uint64_t ok : {uint64_t{0}, uint64_t{PER_LINUX32}, uint64_t{0xffffffff}})
    EXPECT_EQ(verdict(rules, "personality", {ok}), 0) << ok;
  std::vector<uint64_t> denied = {PER_BSD, ADDR_NO_RANDOMIZE, PER_SVR4,
                                  0xfffffff7, 0xfffffffe, 0x80000000, (uint64_t{1} << 32) | 6};
  for (uint64_t v = 0; v < 0x10000; ++v) denied.push_back(v);
  for (unsigned bit = 0; bit < 32; ++bit) {
    denied.push_back(uint64_t{1} << bit);
    denied.push_back(~(uint64_t{1} << bit) & 0xffffffff);
  }
  std::mt19937_64 rng(42);
  for (int i = 0; i < 100000; ++i) denied.push_back(rng());
  for (uint64_t v : denied) {
    const uint32_t low = static_cast<uint32_t>(v);  // what the kernel sees
    const bool allowed = low == 0 || low == PER_LINUX32 || low == 0xffffffff;
    ASSERT_EQ(verdict(rules, "personality", {v}), allowed ? 0 : EPERM) << std::hex << v;
  }
  const auto devel = rules_for(SeccompPolicy::kDevel, false);
  EXPECT_EQ(verdict(devel, "personality", {ADDR_NO_RANDOMIZE}), 0);
}

TEST(SeccompRules, SocketFamilies) {
  const auto def = rules_for(SeccompPolicy::kDefault, false);
  const auto strict = rules_for(SeccompPolicy::kStrict, false);
  const std::set<uint64_t> def_ok = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK};
  for (const char* call : {"socket", "socketpair"}) {
    for (uint64_t family = 0; family < 64; ++family) {
      EXPECT_EQ(verdict(def, call, {family}), def_ok.count(family) ? 0 : EAFNOSUPPORT)
          << call << " " << family;
      EXPECT_EQ(verdict(strict, call, {family}),
                def_ok.count(family) && family != AF_NETLINK ? 0 : EAFNOSUPPORT)
          << call << " " << family;
    }
    // Upper bits set: the kernel would read only the int; refuse rather than guess.
    EXPECT_EQ(verdict(def, call, {(uint64_t{1} << 32) | AF_PACKET}), EAFNOSUPPORT);
    EXPECT_EQ(verdict(def, call, {~uint64_t{0}}), EAFNOSUPPORT);
  }
}

TEST(SeccompRules, StrictAddsToDefault) {
  const auto def = rules_for(SeccompPolicy::kDefault, false);
  const auto strict = rules_for(SeccompPolicy::kStrict, false);
  for (const auto& name : kStrictOnly) EXPECT_EQ(verdict(strict, name), EPERM) << name;
  for (const auto& name : kDebug) EXPECT_EQ(verdict(strict, name), EPERM) << name;
  for (const Rule& rule : def) {  // every default rule is also in strict, except AF_NETLINK's
    if (rule.syscall == "socket" || rule.syscall == "socketpair") continue;
    EXPECT_TRUE(std::any_of(strict.begin(), strict.end(), [&](const Rule& s) {
      return s.syscall == rule.syscall && s.errno_value == rule.errno_value &&
             s.args.size() == rule.args.size();
    })) << rule.syscall;
  }
}

TEST(SeccompRules, DevelAllowsDebuggingOnly) {
  const auto devel = rules_for(SeccompPolicy::kDevel, false);
  for (const auto& name : kDebug) EXPECT_EQ(verdict(devel, name), 0) << name;
  EXPECT_EQ(verdict(devel, "personality", {PER_BSD}), 0);
  EXPECT_EQ(verdict(devel, "mount"), EPERM);
  EXPECT_EQ(verdict(devel, "unshare"), EPERM);
  EXPECT_EQ(verdict(devel, "ioctl", {0, TIOCSTI}), EPERM);
  EXPECT_EQ(verdict(devel, "socket", {AF_PACKET}), EAFNOSUPPORT);
}

TEST(SeccompRules, NestedUsernsLiftsOnlyNamespaceRules) {
  for (auto policy : {SeccompPolicy::kDefault, SeccompPolicy::kStrict, SeccompPolicy::kDevel}) {
    const auto with = rules_for(policy, false);
    const auto nested = rules_for(policy, true);
    EXPECT_EQ(verdict(nested, "unshare"), 0);
    EXPECT_EQ(verdict(nested, "setns"), 0);
    EXPECT_EQ(verdict(nested, "clone", {CLONE_NEWUSER | SIGCHLD}), 0);
    for (const auto& name : kMountApi) EXPECT_EQ(verdict(nested, name), EPERM) << name;
    EXPECT_EQ(verdict(nested, "clone3"), ENOSYS);
    EXPECT_EQ(with.size(), nested.size() + 3);
  }
}

TEST(SeccompRules, DescribeOneLinePerGroup) {
  const auto lines = describe(SeccompPolicy::kDefault, false);
  auto has = [&](const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  };
  EXPECT_TRUE(has("blocks the mount API (mount, umount, umount2, pivot_root, fsopen, fsconfig, "
                  "fsmount, fspick, move_mount, open_tree, mount_setattr)"));
  EXPECT_TRUE(has("blocks terminal injection with TIOCSTI/TIOCLINUX (ioctl)"));
  EXPECT_TRUE(has("blocks creating or joining namespaces (unshare, setns, clone)"));
  EXPECT_TRUE(has("blocks debugging other processes (ptrace, perf_event_open, "
                  "process_vm_readv, process_vm_writev)"));
  EXPECT_TRUE(has("blocks execution domains other than Linux (personality)"));
  EXPECT_TRUE(has("blocks socket families other than AF_UNIX, AF_INET, AF_INET6, AF_NETLINK "
                  "(socket, socketpair)"));
  EXPECT_EQ(lines.front(), "blocks terminal injection with TIOCSTI/TIOCLINUX (ioctl)");
  std::set<std::string> whys;
  for (const Rule& rule : rules_for(SeccompPolicy::kDefault, false)) whys.insert(rule.why);
  EXPECT_EQ(lines.size(), whys.size());

  for (const auto& line : describe(SeccompPolicy::kDevel, true)) {
    EXPECT_EQ(line.find("ptrace"), std::string::npos) << line;
    EXPECT_EQ(line.find("unshare"), std::string::npos) << line;
  }
  EXPECT_EQ(describe(SeccompPolicy::kStrict, false).back(),
            "blocks setting the clock (settimeofday, clock_settime, clock_adjtime, adjtimex)");
}

TEST(SeccompCompile, EveryPolicyCompiles) {
  for (auto policy : {SeccompPolicy::kDefault, SeccompPolicy::kStrict, SeccompPolicy::kDevel})
    for (bool nested : {false, true}) {
      const auto program = compile(rules_for(policy, nested));
      EXPECT_GT(program.size(), 10u);
      EXPECT_LE(program.size(), size_t{BPF_MAXINSNS});
    }
}

TEST(SeccompCompile, UnknownSyscallSkippedBadRuleThrows) {
  EXPECT_NO_THROW(compile({Rule{"no_such_syscall", EPERM, {}, "test"}}));
  // Two comparisons on one argument: libseccomp 2.5 refuses them (EINVAL).
  const std::vector<ArgCmp> twice = {{0, ArgCmp::Op::kEq, 1, 0}, {0, ArgCmp::Op::kEq, 2, 0}};
  EXPECT_THROW(compile({Rule{"socket", EPERM, twice, "x"}}), SetupError);
}

// ---- The filter loaded for real ----

constexpr int kSetupFailed = 200;  // above every errno value
using Probe = int (*)();           // 0 on success, else an errno value

// Runs `probe` in a forked child, under `program` when it is non-null, optionally in a new
// user + mount namespace first (so mount calls are permitted without the filter).
int run_in_child(const std::vector<sock_filter>* program, Probe probe, bool own_userns = false) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (own_userns && getuid() != 0) (void)unshare(CLONE_NEWUSER | CLONE_NEWNS);
    if (program) {
      if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(kSetupFailed);
      try {
        load_in_child(*program);
      } catch (const SetupError&) {
        _exit(kSetupFailed);
      }
    }
    _exit(probe());
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

void expect_errno(SeccompPolicy policy, bool nested, Probe probe, int expected,
                  bool own_userns = false) {
  const int control = run_in_child(nullptr, probe, own_userns);
  ASSERT_NE(control, -1);
  if (control == expected)
    GTEST_SKIP() << "the kernel already answers " << errno_name(expected)
                 << " without the filter, so this check could not fail";
  const auto program = compile(rules_for(policy, nested));
  EXPECT_EQ(run_in_child(&program, probe, own_userns), expected)
      << "expected " << errno_name(expected);
}

void expect_allowed(SeccompPolicy policy, bool nested, Probe probe) {
  const int control = run_in_child(nullptr, probe);
  if (control != 0) GTEST_SKIP() << "fails without the filter too: " << errno_name(control);
  const auto program = compile(rules_for(policy, nested));
  EXPECT_EQ(run_in_child(&program, probe), 0);
}

int result(long rc) { return rc < 0 ? errno : 0; }

// Opens a pty whose slave becomes the controlling terminal of a new session.
int open_own_tty() {
  if (setsid() < 0) return -1;
  const int master = posix_openpt(O_RDWR);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) return -1;
  return open(ptsname(master), O_RDWR);
}

// ioctl(cmd) on the controlling tty; the upper 32 bits of `cmd` are ignored by the kernel.
// TIOCLINUX gets TIOCL_GETSHIFTSTATE (6), which a pty refuses with ENOTTY.
template <uint64_t kCmd>
int tty_ioctl() {
  const int tty = open_own_tty();
  char arg = static_cast<uint32_t>(kCmd) == TIOCLINUX ? 6 : 'x';
  return tty < 0 ? kSetupFailed : result(syscall(SYS_ioctl, tty, kCmd, &arg));
}

TEST(SeccompFilter, TerminalInjection) {
  expect_errno(SeccompPolicy::kDefault, false, tty_ioctl<TIOCSTI>, EPERM);
}
TEST(SeccompFilter, TerminalInjectionUpperBits) {
  expect_errno(SeccompPolicy::kDefault, false, tty_ioctl<(uint64_t{1} << 32) | TIOCSTI>, EPERM);
}
TEST(SeccompFilter, Tioclinux) {
  expect_errno(SeccompPolicy::kDefault, false, tty_ioctl<TIOCLINUX>, EPERM);
}
TEST(SeccompFilter, Mount) {
  // ENOENT without the filter: the path lookup comes before the privilege check.
  expect_errno(SeccompPolicy::kDefault, true, [] {
    return result(mount("none", "/nonexistent/sandbox-seccomp-test", "tmpfs", 0, nullptr));
  }, EPERM);
}
TEST(SeccompFilter, Fsopen) {
  expect_errno(SeccompPolicy::kDefault, true, [] {
    return result(syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC));
  }, EPERM, /*own_userns=*/true);
}
TEST(SeccompFilter, OpenTree) {
  expect_errno(SeccompPolicy::kDefault, true, [] {
    return result(syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLOEXEC));
  }, EPERM);
}
TEST(SeccompFilter, Keyctl) {
  expect_errno(SeccompPolicy::kDefault, false, [] {
    return result(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
  }, EPERM);
}
TEST(SeccompFilter, UnshareUserns) {
  expect_errno(SeccompPolicy::kDefault, false, [] { return result(unshare(CLONE_NEWUSER)); },
               EPERM);
}
TEST(SeccompFilter, CloneNewUser) {
  expect_errno(SeccompPolicy::kDefault, false, [] {
    const long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid(static_cast<pid_t>(pid), nullptr, 0);
    return result(pid);
  }, EPERM);
}
TEST(SeccompFilter, Clone3IsEnosys) {
  // EINVAL without the filter (no clone_args).
  expect_errno(SeccompPolicy::kDefault, false,
               [] { return result(syscall(SYS_clone3, nullptr, 0)); }, ENOSYS);
}
TEST(SeccompFilter, ThreadsStillStart) {  // glibc falls back from clone3 to clone
  expect_allowed(SeccompPolicy::kDefault, false, [] {
    pthread_t thread;
    auto body = [](void*) -> void* { return nullptr; };
    const int rc = pthread_create(&thread, nullptr, body, nullptr);
    return rc != 0 ? rc : pthread_join(thread, nullptr);
  });
}
TEST(SeccompFilter, PacketSocket) {
  expect_errno(SeccompPolicy::kDefault, false, [] {
    return result(socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  }, EAFNOSUPPORT);
}
TEST(SeccompFilter, NetlinkOnlyInStrict) {
  Probe netlink = [] { return result(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0)); };
  expect_allowed(SeccompPolicy::kDefault, false, netlink);
  expect_errno(SeccompPolicy::kStrict, false, netlink, EAFNOSUPPORT);
}
TEST(SeccompFilter, OrdinarySyscallsWork) {
  expect_allowed(SeccompPolicy::kStrict, false, [] {
    if (getpid() <= 0) return EINVAL;
    const int unix_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (unix_fd < 0) return errno;
    const int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    return write(fd, "x", 1) == 1 ? 0 : EIO;
  });
}
TEST(SeccompFilter, PersonalityBsd) {
  expect_errno(SeccompPolicy::kDefault, false, [] { return result(personality(PER_BSD)); },
               EPERM);
}
TEST(SeccompFilter, PersonalityQueryAndLinux) {
  expect_allowed(SeccompPolicy::kDefault, false, [] {
    return result(personality(0xffffffff)) | result(personality(PER_LINUX));
  });
}
TEST(SeccompFilter, PtraceBlockedByDefault) {
  expect_errno(SeccompPolicy::kDefault, false,
               [] { return result(ptrace(PTRACE_TRACEME, 0, nullptr, nullptr)); }, EPERM);
}
TEST(SeccompFilter, PtraceAllowedInDevel) {
  expect_allowed(SeccompPolicy::kDevel, false,
                 [] { return result(ptrace(PTRACE_TRACEME, 0, nullptr, nullptr)); });
}
TEST(SeccompFilter, NestedUsernsAllowsUnshare) {
  expect_allowed(SeccompPolicy::kDefault, true, [] { return result(unshare(CLONE_NEWUSER)); });
}
TEST(SeccompFilter, ChrootOnlyInStrict) {
  // ENOENT without the filter: the path lookup comes before the privilege check.
  Probe probe = [] { return result(chroot("/nonexistent/sandbox-seccomp-test")); };
  EXPECT_EQ(run_in_child(nullptr, probe), ENOENT);
  const auto def = compile(rules_for(SeccompPolicy::kDefault, false));
  EXPECT_EQ(run_in_child(&def, probe), ENOENT);
  expect_errno(SeccompPolicy::kStrict, false, probe, EPERM);
}

#if defined(__x86_64__)
// A 32-bit syscall from this 64-bit process (int $0x80): seccomp sees AUDIT_ARCH_I386.
long syscall32(long nr, long a = 0, long b = 0) {
  long ret;
  asm volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(0) : "memory");
  return ret;
}
TEST(SeccompFilter, X86CompatSyscallsFilteredToo) {
  if (syscall32(20 /* getpid */) == -ENOSYS) GTEST_SKIP() << "no IA-32 emulation";
  expect_errno(SeccompPolicy::kDefault, false, [] {
    const long rc = syscall32(21 /* mount */, 0);
    return rc < 0 ? static_cast<int>(-rc) : 0;
  }, EPERM);
  expect_allowed(SeccompPolicy::kDefault, false, [] {
    return syscall32(20 /* getpid */) == getpid() ? 0 : EINVAL;
  });
  // socketcall(SYS_SOCKET, {AF_UNIX, SOCK_STREAM, 0}), as i386 glibc calls socket(): must
  // keep working (the family rules are not applied to socketcall, see seccomp.cc).
  expect_allowed(SeccompPolicy::kDefault, false, [] {
    void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (page == MAP_FAILED) return errno;
    auto* args = static_cast<uint32_t*>(page);
    args[0] = AF_UNIX, args[1] = SOCK_STREAM, args[2] = 0;
    const long rc = syscall32(102 /* socketcall */, 1 /* SYS_SOCKET */,
                              reinterpret_cast<long>(args));
    return rc < 0 ? static_cast<int>(-rc) : 0;
  });
}
#endif

}  // namespace
}  // namespace sandbox::launcher::seccomp
