// One error type for everything that goes wrong while setting up a sandbox. It carries the
// stage (from run.cc's stage table), the operation, the path, errno and a hint, and is
// printed once, by the parent, as one line (see format()).
#pragma once

#include <string>

namespace sandbox::launcher {

struct SetupError {
  std::string stage;  // "mounts", "userns", "seccomp", ... (filled in by the stage runner)
  std::string op;     // "bind", "mount tmpfs", "write uid_map", "execve", ...
  std::string path;   // the path involved, or empty
  int err = 0;        // errno, or 0
  std::string hint;   // what to do about it, or empty
  int exit_code = 125;  // 125 launcher failure; 126/127 for the app's command (DESIGN.md)

  // "sandbox: STAGE: OP PATH: strerror(err) (ERRNAME); hint: HINT"
  std::string format() const;
};

// Builds a SetupError from the current errno (or `err`), with a hint chosen by
// diagnosed_hint(op, err) (launcher/userns_diagnosis.h: the exact cause when user namespaces
// are refused, else hint_for) when `hint` is empty.
SetupError sys_error(std::string op, std::string path = {}, int err = -1, std::string hint = {});

// Hints for the errno values that have a known cause. Pure; unit tested.
std::string hint_for(const std::string& op, int err);

// "ENOENT" for 2, etc.
const char* errno_name(int err);

}  // namespace sandbox::launcher
