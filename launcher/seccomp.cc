// The seccomp policies. See seccomp(2), seccomp_rule_add(3), seccomp_export_bpf(3).
//
// The filter allows by default and denies with an errno, as Flatpak's does: a program that
// probes a blocked syscall gets an error it can handle instead of being killed.
#include "launcher/seccomp.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "launcher/error.h"
#include "launcher/sys.h"

namespace sandbox::launcher::seccomp {
namespace {

using profiles::SeccompPolicy;

// clone(2)'s flags are its first argument everywhere except s390, where the first two
// arguments are swapped (see the CLONE_BACKWARDS2 note in clone(2)).
#if defined(__s390__)
constexpr unsigned kCloneFlagsArg = 1;
#else
constexpr unsigned kCloneFlagsArg = 0;
#endif

constexpr uint64_t kLow32 = 0xffffffffu;

void add_group(std::vector<Rule>& rules, std::initializer_list<const char*> syscalls, int err,
               const std::string& why) {
  for (const char* name : syscalls) rules.push_back(Rule{name, err, {}, why});
}

// "arg is one of the values the kernel sees as `value`": the kernel truncates the argument
// to 32 bits, so a caller could otherwise set upper bits to dodge an exact compare.
ArgCmp low32_eq(unsigned arg, uint64_t value) {
  return ArgCmp{arg, ArgCmp::Op::kMaskedEq, kLow32, value & kLow32};
}

// personality(2) is allowed only for PER_LINUX (0), PER_LINUX32 (8) and the query 0xffffffff.
// libseccomp 2.5 refuses two comparisons on the same argument in one rule (-EINVAL, see
// db_col_rule_add), and separate rules are ORed, so "arg0 != 0 && arg0 != 8 && arg0 != ~0"
// cannot be written directly. Instead the denied set is a union of bit patterns on the low
// 32 bits (the kernel takes an unsigned int and ignores the rest): rule (a, b) matches "bit a
// set and bit b clear". The pairs run along the cycle of bits 0→1→2→4→5→…→31→0 (bit 3
// skipped), plus (2, 3). A denied word has a set bit other than 3 (it is not 0 or 8) and a
// clear bit (it is not ~0). If a bit other than 3 is clear, walking the cycle from the set
// bit reaches a set bit followed by a clear one; otherwise the word is ~8, which (2, 3)
// catches. No pair matches 0, 8 or ~0, since no pair starts at bit 3. 32 rules in all.
void add_personality_rules(std::vector<Rule>& rules, const std::string& why) {
  auto pair = [&](unsigned set_bit, unsigned clear_bit) {
    const uint64_t mask = (uint64_t{1} << set_bit) | (uint64_t{1} << clear_bit);
    rules.push_back(Rule{"personality", EPERM,
                         {ArgCmp{0, ArgCmp::Op::kMaskedEq, mask, uint64_t{1} << set_bit}}, why});
  };
  std::vector<unsigned> cycle;
  for (unsigned bit = 0; bit < 32; ++bit)
    if (bit != 3) cycle.push_back(bit);
  for (size_t i = 0; i < cycle.size(); ++i) pair(cycle[i], cycle[(i + 1) % cycle.size()]);
  pair(2, 3);
}

// socket(2)/socketpair(2) with a family outside `allowed` (sorted ascending). One rule per
// denied family below the largest allowed one, then ">= largest + 1" for the rest; a value
// with upper bits set (the kernel would read only the low int) is caught by the kGe rule.
void add_socket_family_rules(std::vector<Rule>& rules, const std::vector<uint64_t>& allowed,
                             const std::string& why) {
  for (const char* name : {"socket", "socketpair"}) {
    uint64_t next = 0;
    for (uint64_t family : allowed) {
      for (; next < family; ++next)
        rules.push_back(Rule{name, EAFNOSUPPORT, {ArgCmp{0, ArgCmp::Op::kEq, next, 0}}, why});
      next = family + 1;
    }
    rules.push_back(Rule{name, EAFNOSUPPORT, {ArgCmp{0, ArgCmp::Op::kGe, next, 0}}, why});
  }
}

}  // namespace

std::vector<Rule> rules_for(SeccompPolicy policy, bool nested_userns) {
  const bool strict = policy == SeccompPolicy::kStrict;
  const bool devel = policy == SeccompPolicy::kDevel;
  std::vector<Rule> rules;

  const std::string tty_why = "terminal injection with TIOCSTI/TIOCLINUX";
  rules.push_back(Rule{"ioctl", EPERM, {low32_eq(1, TIOCSTI)}, tty_why});
  rules.push_back(Rule{"ioctl", EPERM, {low32_eq(1, TIOCLINUX)}, tty_why});

  // The mount API stays blocked even with nested_userns: a nested user namespace gives the
  // app CAP_SYS_ADMIN over a mount namespace of its own, and with mounts it could cover up
  // the paths the launcher placed or reveal what they hide. open_tree_attr (Linux 6.15) is
  // unknown to libseccomp 2.5, so it could not be filtered; it still needs move_mount to
  // attach anything. chroot stays allowed here: Chromium's sandbox uses it.
  add_group(rules,
            {"mount", "umount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount",
             "fspick", "move_mount", "open_tree", "mount_setattr"},
            EPERM, "the mount API");

  // clone3 passes its flags in memory, which seccomp cannot read. ENOSYS makes glibc fall
  // back to clone(2), whose flags the CLONE_NEWUSER rule below can check.
  rules.push_back(Rule{"clone3", ENOSYS, {}, "clone3, so that clone's flags can be checked"});

  if (!nested_userns) {
    const std::string ns_why = "creating or joining namespaces";
    add_group(rules, {"unshare", "setns"}, EPERM, ns_why);
    rules.push_back(Rule{"clone",
                         EPERM,
                         {ArgCmp{kCloneFlagsArg, ArgCmp::Op::kMaskedEq, CLONE_NEWUSER,
                                 CLONE_NEWUSER}},
                         ns_why});
  }

  add_group(rules, {"add_key", "keyctl", "request_key"}, EPERM, "kernel keyrings");

  if (!devel) {
    add_group(rules, {"ptrace", "perf_event_open", "process_vm_readv", "process_vm_writev"},
              EPERM, "debugging other processes");
    add_personality_rules(rules, "execution domains other than Linux");
  }

  add_group(rules,
            {"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
             "bpf", "userfaultfd"},
            EPERM, "kernel modules, kexec, BPF, userfaultfd");
  add_group(rules,
            {"syslog", "uselib", "acct", "swapon", "swapoff", "reboot", "quotactl",
             "quotactl_fd", "nfsservctl", "lookup_dcookie", "vhangup"},
            EPERM, "host administration and obsolete calls");
  // open_by_handle_at opens any inode of a mounted filesystem by number, around the mount
  // layout (the "shocker" container escape); name_to_handle_at makes the handles.
  add_group(rules, {"open_by_handle_at", "name_to_handle_at"}, EPERM, "file handles");

  std::vector<uint64_t> families = {AF_UNIX, AF_INET, AF_INET6};
  std::string families_why = "socket families other than AF_UNIX, AF_INET, AF_INET6";
  if (!strict) {
    families.push_back(AF_NETLINK);
    families_why += ", AF_NETLINK";
  }
  std::sort(families.begin(), families.end());
  add_socket_family_rules(rules, families, families_why);

  if (strict) {
    add_group(rules, {"chroot"}, EPERM, "changing the root directory");
    add_group(rules, {"io_uring_setup", "io_uring_enter", "io_uring_register"}, EPERM,
              "io_uring");
    add_group(rules, {"mbind", "migrate_pages", "move_pages", "set_mempolicy"}, EPERM,
              "NUMA memory placement");
    add_group(rules, {"memfd_secret"}, EPERM, "secret memory");
    add_group(rules, {"kcmp", "pidfd_getfd"}, EPERM, "looking into other processes' files");
    // adjtimex/clock_adjtime also serve read-only queries (ntp_gettime); strict gives them up.
    add_group(rules, {"settimeofday", "clock_settime", "clock_adjtime", "adjtimex"}, EPERM,
              "setting the clock");
  }
  return rules;
}

std::vector<std::string> describe(SeccompPolicy policy, bool nested_userns) {
  std::vector<std::pair<std::string, std::vector<std::string>>> groups;
  for (const Rule& rule : rules_for(policy, nested_userns)) {
    auto group = std::find_if(groups.begin(), groups.end(),
                              [&](const auto& g) { return g.first == rule.why; });
    if (group == groups.end())
      group = groups.emplace(groups.end(), rule.why, std::vector<std::string>{});
    auto& names = group->second;
    if (std::find(names.begin(), names.end(), rule.syscall) == names.end())
      names.push_back(rule.syscall);
  }
  std::vector<std::string> lines;
  for (const auto& [why, names] : groups) {
    std::string line = "blocks " + why + " (";
    for (size_t i = 0; i < names.size(); ++i) line += (i ? ", " : "") + names[i];
    lines.push_back(line + ")");
  }
  return lines;
}

namespace {

struct FilterDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Filter = std::unique_ptr<void, FilterDeleter>;

void check(int rc, const std::string& what) {
  if (rc < 0) throw sys_error("seccomp: " + what, "", -rc);
}

std::string arch_name(uint32_t arch) {
  switch (arch) {
    case SCMP_ARCH_X86: return "x86";
    case SCMP_ARCH_X32: return "x32";
    case SCMP_ARCH_X86_64: return "x86_64";
    default: return std::to_string(arch);
  }
}

scmp_compare to_scmp(ArgCmp::Op op) {
  switch (op) {
    case ArgCmp::Op::kEq: return SCMP_CMP_EQ;
    case ArgCmp::Op::kNe: return SCMP_CMP_NE;
    case ArgCmp::Op::kMaskedEq: return SCMP_CMP_MASKED_EQ;
    case ArgCmp::Op::kGe: return SCMP_CMP_GE;
  }
  return _SCMP_CMP_MIN;  // invalid: libseccomp rejects it
}

// A filter for one architecture. Each architecture gets its own filter, merged at the end,
// because rules must be skipped per architecture (see add_rules).
Filter filter_for(uint32_t arch) {
  Filter filter(seccomp_init(SCMP_ACT_ALLOW));
  if (!filter) throw sys_error("seccomp: init", "", ENOMEM);
  // The launcher sets no_new_privs itself, before loading (seccomp(2) needs it).
  check(seccomp_attr_set(filter.get(), SCMP_FLTATR_CTL_NNP, 0), "disable NNP attribute");
  // A binary tree over syscall numbers instead of a linear chain: the syscalls that have
  // argument rules (ioctl, socket, clone) are checked in a few jumps. (Syscalls whose answer
  // is always "allow" never run the filter at all: the kernel caches them, Linux 5.11+.)
  check(seccomp_attr_set(filter.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2), "optimize attribute");
  if (arch != seccomp_arch_native()) {
    check(seccomp_arch_remove(filter.get(), SCMP_ARCH_NATIVE), "remove native arch");
    check(seccomp_arch_add(filter.get(), arch), "add arch " + arch_name(arch));
  }
  return filter;
}

void add_rules(void* filter, uint32_t arch, const std::vector<Rule>& rules) {
  for (const Rule& rule : rules) {
    const char* name = rule.syscall.c_str();
    const int number = seccomp_syscall_resolve_name_arch(arch, name);
    // Unknown to this libseccomp (newer than it, or a typo): nothing to filter.
    if (number == __NR_SCMP_ERROR) continue;
    // Not a syscall of this arch (libseccomp's pseudo numbers are negative; umount on
    // x86_64, kexec_file_load on x86).
    const int direct = seccomp_syscall_resolve_name_rewrite(arch, name);
    if (direct < 0) continue;
    // On x86 (32-bit) socket() and socketpair() exist both as direct syscalls (Linux 4.3+)
    // and inside socketcall(SYS_SOCKET, args*), which i386 glibc still uses. libseccomp
    // 2.5 turns a rule on socket into rules on both, but socketcall's arguments sit in
    // memory seccomp cannot read, so it drops the family comparison there: the rule would
    // fail every 32-bit socket(), AF_UNIX included. We skip such rules on that arch rather
    // than break 32-bit programs, so 32-bit x86 programs are not filtered by socket family
    // (Flatpak has the same gap).
    if (direct != number && !rule.args.empty()) continue;

    std::vector<scmp_arg_cmp> cmps;
    for (const ArgCmp& cmp : rule.args)
      cmps.push_back(scmp_arg_cmp{cmp.arg, to_scmp(cmp.op), cmp.value, cmp.value2});
    // seccomp_rule_add_array, not _exact: libseccomp translates the (native) number to
    // each arch and handles per-arch differences.
    check(seccomp_rule_add_array(filter, SCMP_ACT_ERRNO(rule.errno_value),
                                 seccomp_syscall_resolve_name(name),
                                 static_cast<unsigned>(cmps.size()), cmps.data()),
          "add rule for " + rule.syscall + " on " + arch_name(arch));
  }
}

}  // namespace

std::vector<sock_filter> compile(const std::vector<Rule>& rules) {
  std::vector<uint32_t> arches = {seccomp_arch_native()};
#if defined(__x86_64__) && !defined(__ILP32__)
  // 32-bit and x32 programs run on x86_64 too; filter them instead of leaving a way around.
  arches.push_back(SCMP_ARCH_X86);
  arches.push_back(SCMP_ARCH_X32);
#endif
  Filter filter = filter_for(arches[0]);
  add_rules(filter.get(), arches[0], rules);
  for (size_t i = 1; i < arches.size(); ++i) {
    Filter other = filter_for(arches[i]);
    add_rules(other.get(), arches[i], rules);
    check(seccomp_merge(filter.get(), other.get()), "merge arch " + arch_name(arches[i]));
    (void)other.release();  // seccomp_merge released it
  }

  Fd memfd(memfd_create("sandbox-seccomp-bpf", MFD_CLOEXEC));
  if (!memfd.valid()) throw sys_error("seccomp: memfd_create");
  check(seccomp_export_bpf(filter.get(), memfd.get()), "export BPF");
  const off_t size = lseek(memfd.get(), 0, SEEK_END);
  if (size < 0) throw sys_error("seccomp: read back BPF");
  if (size == 0 || size % sizeof(sock_filter) != 0)
    throw sys_error("seccomp: read back BPF", "", EINVAL);
  std::vector<sock_filter> program(size / sizeof(sock_filter));
  auto* bytes = reinterpret_cast<char*>(program.data());
  for (off_t done = 0; done < size;) {
    const ssize_t n = pread(memfd.get(), bytes + done, size - done, done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw sys_error("seccomp: read back BPF", "", n < 0 ? errno : EIO);
    done += n;
  }
  return program;
}

}  // namespace sandbox::launcher::seccomp

namespace sandbox::launcher::seccomp {

std::vector<sock_filter> program_for(SeccompPolicy policy, bool nested_userns) {
  unsigned count = 0;
  const Precompiled* table = sandbox_precompiled_seccomp ? sandbox_precompiled_seccomp(&count) : nullptr;
  for (unsigned i = 0; table && i < count; ++i)
    if (table[i].policy == policy && table[i].nested_userns == nested_userns)
      return {table[i].program, table[i].program + table[i].length};
  return compile(rules_for(policy, nested_userns));
}

void load_in_child(const std::vector<sock_filter>& program) {
  if (program.empty() || program.size() > BPF_MAXINSNS)
    throw sys_error("seccomp: load filter", "", EINVAL, "the BPF program is empty or too long");
  sock_fprog fprog{static_cast<unsigned short>(program.size()),
                   const_cast<sock_filter*>(program.data())};
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0) {
    const int err = errno;
    throw sys_error("seccomp: load filter", "", err,
                    err == EACCES ? "no_new_privs must be set before the filter is loaded" : "");
  }
}

}  // namespace sandbox::launcher::seccomp
