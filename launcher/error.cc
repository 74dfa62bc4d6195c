#include "launcher/error.h"

#include <cerrno>
#include <cstring>

#include "launcher/userns_diagnosis.h"

namespace sandbox::launcher {

const char* errno_name(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    case EROFS: return "EROFS";
    case ELOOP: return "ELOOP";
    case EXDEV: return "EXDEV";
    case ENOSYS: return "ENOSYS";
    case EBUSY: return "EBUSY";
    case ENOMEM: return "ENOMEM";
    case EAGAIN: return "EAGAIN";
    case ENOEXEC: return "ENOEXEC";
    case ENODEV: return "ENODEV";
    case EUSERS: return "EUSERS";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EMFILE: return "EMFILE";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "";
  }
}

std::string hint_for(const std::string& op, int err) {
  auto is = [&](const char* prefix) { return op.rfind(prefix, 0) == 0; };
  if (is("clone") || is("unshare")) {
    if (err == EPERM || err == EACCES)
      return "unprivileged user namespaces are disabled: enable them with "
             "`sysctl kernel.unprivileged_userns_clone=1` (Debian, older kernels); on Ubuntu 24.04 "
             "`sysctl kernel.apparmor_restrict_unprivileged_userns=0` or an AppArmor profile "
             "granting `userns`";
    if (err == ENOSPC || err == EUSERS)
      return "the user namespace limit is reached or zero: raise it with "
             "`sysctl user.max_user_namespaces=15000`";
    if (err == EINVAL) return "this kernel lacks one of the namespace types the sandbox needs";
  }
  if (is("write uid_map") || is("write gid_map") || is("write setgroups")) {
    if (err == EPERM || err == EACCES)
      return "the kernel refused the id map; on Ubuntu 24.04 this is AppArmor's user namespace "
             "restriction: `sysctl kernel.apparmor_restrict_unprivileged_userns=0`";
  }
  if (is("mount overlay")) {
    if (err == EINVAL || err == EPERM || err == ENODEV)
      return "this kernel cannot mount overlayfs inside a user namespace (needs Linux 5.11 or "
             "later with CONFIG_OVERLAY_FS); use `--home tmpfs` or `--home bind`";
    if (err == ELOOP)
      return "an overlay layer overlaps the home or another overlay; run `sandbox reset APP` "
             "if the layer was damaged";
  }
  if (is("resolve")) {
    if (err == EXDEV || err == ELOOP)
      return "a symlink on this path leads outside the tree it must stay in; name the real "
             "target path in the profile instead";
    if (err == ENOENT) return "create it, mark it optional with a leading '?', or remove it";
  }
  if (is("execve")) {
    if (err == ENOENT)
      return "the command is not installed, or not visible inside the sandbox (check "
             "`sandbox explain`)";
    if (err == EACCES) return "the file is not executable, or sits on a noexec mount";
  }
  if (err == ENOSPC) return "the disk is full: free some space and try again";
  return {};
}

std::string diagnosed_hint(const std::string& op, int err) {
  if (const auto step = userns_step_for(op)) {
    const UsernsDiagnosis d = diagnose_userns(*step, err, read_userns_host());
    if (d.known) return d.hint();
  }
  return hint_for(op, err);
}

std::string SetupError::format() const {
  std::string out = "sandbox: ";
  if (!stage.empty()) out += stage + ": ";
  out += op;
  if (!path.empty()) out += " " + path;
  if (err != 0) {
    out += ": ";
    out += std::strerror(err);
    const char* name = errno_name(err);
    if (*name) out += std::string(" (") + name + ")";
  }
  if (!hint.empty()) out += "; hint: " + hint;
  return out;
}

SetupError sys_error(std::string op, std::string path, int err, std::string hint) {
  SetupError e;
  e.err = err < 0 ? errno : err;
  e.op = std::move(op);
  e.path = std::move(path);
  e.hint = hint.empty() ? diagnosed_hint(e.op, e.err) : std::move(hint);
  return e;
}

}  // namespace sandbox::launcher
