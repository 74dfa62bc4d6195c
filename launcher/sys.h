// Small RAII and syscall helpers used by the run-time stages. Every fd is O_CLOEXEC.
#pragma once

#include <sys/types.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace sandbox::launcher {

using Fd = sandbox::UniqueFd;

// openat2(2) with O_PATH|O_CLOEXEC plus `flags`, and the RESOLVE_* bits in `resolve`.
// Returns -1 with errno set.
int openat2_path(int dirfd, const std::string& path, int flags, unsigned long long resolve);

// Closes every fd from 3 up, except those in `keep` (close_range(2) over the gaps).
void close_fds_except(std::initializer_list<int> keep);

// For the programs the launcher starts next to a sandbox (companions.cc, network.cc):
// in the forked child, the signals the launcher blocks unblocked again;
void unblock_all_signals();
// then execv(argv[0], argv), or _exit(127);
[[noreturn]] void exec_argv(const std::vector<std::string>& argv);
// and at the end, a wait of up to `ms` for the child `pid` to exit, then SIGKILL and a wait.
// Returns the wait status.
int reap_within(pid_t pid, int ms);

// Writes all of `data` to `path` (for /proc files). Throws SetupError.
void write_file(const std::string& path, const std::string& data);
// The whole of a small file (/proc, /sys, cgroup files, records; at most 1 MiB), or nullopt
// when it cannot be opened or read.
std::optional<std::string> read_file(const std::string& path);

// Thin wrappers for the new mount API (glibc 2.36 has some, not all, of them).
int sys_open_tree(int dirfd, const char* path, unsigned flags);
int sys_move_mount(int from_dirfd, const char* from_path, int to_dirfd, const char* to_path,
                   unsigned flags);
int sys_fsopen(const char* fsname, unsigned flags);
int sys_fsconfig(int fd, unsigned cmd, const char* key, const void* value, int aux);
int sys_fsmount(int fd, unsigned flags, unsigned attr_flags);
int sys_mount_setattr(int dirfd, const char* path, unsigned flags, unsigned long long attr_set,
                      unsigned long long attr_clr);
int sys_pivot_root(const char* new_root, const char* put_old);

}  // namespace sandbox::launcher
