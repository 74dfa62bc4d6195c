// The seccomp policies (DESIGN.md "Security model"): the rule list is pure data, compiled to a
// BPF program in the parent with libseccomp and loaded in the child as the very last step
// before execve.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

#include "profiles/profile.h"

namespace sandbox::launcher::seccomp {

// One comparison on a syscall argument, as libseccomp's scmp_arg_cmp. Comparisons are on
// the full 64-bit register; kernels truncate int/unsigned int arguments to 32 bits, so a rule
// on such an argument uses kMaskedEq with mask 0xffffffff, or kGe, which any value with upper
// bits set also satisfies.
struct ArgCmp {
  enum class Op { kEq, kNe, kMaskedEq, kGe };
  unsigned arg = 0;     // 0..5
  Op op = Op::kEq;
  uint64_t value = 0;   // for kMaskedEq: the mask
  uint64_t value2 = 0;  // for kMaskedEq: the expected (arg & mask)
};

// "Fail `syscall` with `errno_value` when all of `args` hold" (no args: always).
struct Rule {
  std::string syscall;
  int errno_value = 0;  // EPERM, ENOSYS, EAFNOSUPPORT, ...
  std::vector<ArgCmp> args;
  std::string why;      // one short phrase for `sandbox explain` ("mount API", "TIOCSTI")
};

// The rules of a policy. Pure. Default allow; these rules deny.
std::vector<Rule> rules_for(profiles::SeccompPolicy policy, bool nested_userns);

// Plain-words summary lines for `sandbox explain` (one per group of rules, from `why`).
std::vector<std::string> describe(profiles::SeccompPolicy policy, bool nested_userns);

// Compiles the rules with libseccomp for the native architecture and its compat ones
// (x86_64: also x86 and x32), returns the BPF program. Syscalls unknown on an arch are
// skipped. Throws SetupError on failure.
std::vector<sock_filter> compile(const std::vector<Rule>& rules);

// The program for a policy: the one compiled into the binary at build time when there is one
// (tools/seccomp_gen.cc: saves libseccomp's ~1 ms per launch), else compile(rules_for(...)).
std::vector<sock_filter> program_for(profiles::SeccompPolicy policy, bool nested_userns);

// Build-time programs, defined by the generated source linked into the `sandbox` binary.
struct Precompiled {
  profiles::SeccompPolicy policy;
  bool nested_userns;
  const sock_filter* program;
  unsigned length;
};

// prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ...). Needs PR_SET_NO_NEW_PRIVS set first.
// Throws SetupError.
void load_in_child(const std::vector<sock_filter>& program);

}  // namespace sandbox::launcher::seccomp

// Weak: defined only where the generated table is linked (the `sandbox` binary, unit tests).
extern "C" __attribute__((weak)) const sandbox::launcher::seccomp::Precompiled*
sandbox_precompiled_seccomp(unsigned* count);
