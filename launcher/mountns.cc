#include "launcher/mountns.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <optional>
#include <thread>

#include "desktop/passthrough.h"
#include "launcher/error.h"
#include "launcher/sys.h"

namespace sandbox::launcher {

namespace {

constexpr const char* kBase = "/tmp";  // the scratch tmpfs; bubblewrap uses the same place
constexpr unsigned long long kNoSuidDev = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;

// Path relative to `dir` ("" when equal). Both absolute, path under dir.
std::string relative_to(const std::string& path, const std::string& dir) {
  if (dir == "/") return path.substr(1);
  if (path == dir) return "";
  return path.substr(dir.size() + 1);
}

struct Context {
  const SandboxSpec& spec;
  const RuntimePaths& runtime;
  void (*note)(const std::string&);
  const FuseStarter& start_fuse;
  Fd oldroot;    // the host's root, for resolving sources
  Fd newroot;    // the sandbox's root being built
  Fd watch;      // the filesystem of a size-capped home (see apply_mounts_in_child)
};

// Reads fs_context messages (the kernel's own words on why fsconfig/fsmount failed).
std::string fs_log(int fs_fd) {
  std::string out;
  char buf[512];
  for (;;) {
    ssize_t n = read(fs_fd, buf, sizeof(buf) - 1);
    if (n <= 0) break;
    if (!out.empty()) out += "; ";
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

SetupError with_log(SetupError e, int fs_fd) {
  const std::string log = fs_log(fs_fd);
  if (!log.empty()) e.op += " (kernel: " + log + ")";
  return e;
}

Fd make_fs(const char* fstype, const std::string& target, const std::string& data,
           const std::vector<std::pair<std::string, std::string>>& extra,
           unsigned long long attrs) {
  Fd fs(sys_fsopen(fstype, FSOPEN_CLOEXEC));
  if (!fs.valid()) throw sys_error(std::string("mount ") + fstype, target);
  auto set = [&](const std::string& key, const std::string& value) {
    const int rc = value.empty()
                       ? sys_fsconfig(fs.get(), FSCONFIG_SET_FLAG, key.c_str(), nullptr, 0)
                       : sys_fsconfig(fs.get(), FSCONFIG_SET_STRING, key.c_str(), value.c_str(), 0);
    if (rc != 0)
      throw with_log(sys_error(std::string("mount ") + fstype + " option " + key, target), fs.get());
  };
  // data is "k=v,k=v"
  size_t pos = 0;
  while (pos < data.size()) {
    size_t comma = data.find(',', pos);
    if (comma == std::string::npos) comma = data.size();
    const std::string kv = data.substr(pos, comma - pos);
    pos = comma + 1;
    const size_t eq = kv.find('=');
    set(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
  }
  for (const auto& [k, v] : extra) set(k, v);
  if (sys_fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    throw with_log(sys_error(std::string("mount ") + fstype, target), fs.get());
  Fd mnt(sys_fsmount(fs.get(), FSMOUNT_CLOEXEC, static_cast<unsigned>(attrs)));
  if (!mnt.valid()) throw with_log(sys_error(std::string("mount ") + fstype, target), fs.get());
  return mnt;
}

void attach(int mnt_fd, int target_fd, const std::string& target, const char* what) {
  if (sys_move_mount(mnt_fd, "", target_fd, "",
                     MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
    throw sys_error(std::string("attach ") + what + " at", target);
}

bool is_under(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

// Where an open file is, as a path from the current root ("/oldroot/home/ann/x").
std::string fd_path(int fd) {
  char buf[4096];
  const std::string link = "/oldroot/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = readlink(link.c_str(), buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// Paths in the home may lead through symlinks, absolute ones included (resolved in the root
// they belong to, never the scratch root), but where they end must still be in the home:
// a planted link cannot redirect a bind or a hide elsewhere. `root` is "/oldroot" for the
// host, "/newroot" for the sandbox. The fd pins the object, so the check cannot race.
Fd keep_in_home(Fd fd, const Context& c, const char* root) {
  if (!fd.valid() || is_under(fd_path(fd.get()), root + c.spec.home)) return fd;
  errno = EXDEV;
  return Fd();
}

// Opens a host source path as the step's scope allows. Returns an invalid Fd (errno set) when
// it cannot be opened.
Fd open_source(Context& c, const MountStep& s) {
  switch (s.scope) {
    case SourceScope::kSystem:
      return Fd(openat2_path(c.oldroot.get(), relative_to(s.source, "/"), 0,
                             RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS));
    case SourceScope::kNoSymlinks:
      return Fd(openat2_path(c.oldroot.get(), relative_to(s.source, "/"), 0,
                             RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS));
    case SourceScope::kHome:
      return keep_in_home(Fd(openat2_path(c.oldroot.get(), relative_to(s.source, "/"), 0,
                                          RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)),
                          c, "/oldroot");
  }
  return Fd();
}

enum class Make { kDir, kFile, kSymlink, kNone };

// Resolves the target; creates missing components (directories, and the last one as `make`).
// Returns an invalid Fd with errno ENOENT when `make` is kNone and the target is missing.
// Targets are resolved in the new root as the app will see it (mounts already made on the way
// are crossed); beneath the home, they must stay in it (keep_in_home).
Fd open_target(Context& c, const MountStep& s, Make make, const std::string& link_text = {}) {
  const int base = c.newroot.get();
  const std::string rel = relative_to(s.target, "/");
  const unsigned long long resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  auto checked = [&](Fd fd, const std::string& path) {
    if (s.target_in_home && is_under(path, c.spec.home)) return keep_in_home(std::move(fd), c, "/newroot");
    return fd;
  };
  if (rel.empty()) return Fd(openat2_path(base, ".", 0, resolve));
  if (make != Make::kSymlink) {
    Fd fd = checked(Fd(openat2_path(base, rel, 0, resolve)), s.target);
    if (fd.valid() || errno != ENOENT || make == Make::kNone) return fd;
  }
  // Walk and create.
  Fd dir(openat2_path(base, ".", O_DIRECTORY, resolve));
  std::string so_far;
  size_t pos = 0;
  while (pos < rel.size()) {
    size_t slash = rel.find('/', pos);
    const bool last = slash == std::string::npos;
    if (last) slash = rel.size();
    const std::string name = rel.substr(pos, slash - pos);
    pos = slash + 1;
    so_far += (so_far.empty() ? "" : "/") + name;
    if (last) {
      int rc = 0;
      if (make == Make::kDir) rc = mkdirat(dir.get(), name.c_str(), 0755);
      if (make == Make::kSymlink) rc = symlinkat(link_text.c_str(), dir.get(), name.c_str());
      if (make == Make::kFile) {
        Fd f(openat(dir.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
        rc = f.valid() ? 0 : -1;
      }
      if (rc != 0 && errno != EEXIST) throw sys_error("create mount point", s.target);
      if (make == Make::kSymlink) return Fd();
      return checked(Fd(openat2_path(base, rel, 0, resolve)), s.target);
    }
    Fd next(openat2_path(base, so_far, O_DIRECTORY, resolve));
    if (!next.valid() && errno == ENOENT) {
      if (mkdirat(dir.get(), name.c_str(), 0755) != 0 && errno != EEXIST)
        throw sys_error("create mount point", s.target);
      next = Fd(openat2_path(base, so_far, O_DIRECTORY, resolve));
    }
    next = checked(std::move(next), "/" + so_far);
    if (!next.valid()) throw sys_error("resolve target", s.target);
    dir = std::move(next);
  }
  return Fd();
}

bool is_dir_fd(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
}

void bind(Context& c, const MountStep& s, unsigned long long attrs) {
  Fd src = open_source(c, s);
  if (!src.valid()) {
    if (errno == ENOENT && s.optional) {
      c.note("skipped " + s.source + " (" + s.why + "): does not exist");
      return;
    }
    SetupError e = sys_error("resolve", s.source);
    e.op = "resolve " + s.why + ":";
    throw e;
  }
  const bool dir = is_dir_fd(src.get());
  Fd target = open_target(c, s, dir ? Make::kDir : Make::kFile);
  if (!target.valid()) throw sys_error("resolve target", s.target);
  if (is_dir_fd(target.get()) != dir)
    throw sys_error("bind", s.target, dir ? ENOTDIR : EISDIR,
                    "inside the sandbox this path is of another type than " + s.source);
  Fd tree(sys_open_tree(src.get(), "",
                        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH));
  if (!tree.valid()) throw sys_error("bind", s.source);
  if (sys_mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, attrs, 0) != 0)
    throw sys_error("set mount flags on", s.target);
  attach(tree.get(), target.get(), s.target, "bind");
}

// The fallback for kernels that refuse overlayfs in a user namespace: a FUSE mount made here,
// served by fuse-overlayfs, which the launcher runs outside the sandbox (so that no process
// the app can see holds the real home open) on the /dev/fuse fd we pass it.
Fd fuse_overlay(Context& c, const MountStep& s) {
  if (c.spec.fuse_overlayfs.empty())
    throw sys_error("mount fuse-overlayfs", s.target, ENOENT,
                    "fuse-overlayfs is not installed: apt-get install fuse-overlayfs");
  Fd dev(open("/oldroot/dev/fuse", O_RDWR | O_CLOEXEC));
  if (!dev.valid()) throw sys_error("open", "/dev/fuse", -1, "fuse-overlayfs needs /dev/fuse");
  Fd mnt = make_fs("fuse", s.target, "",
                   {{"fd", std::to_string(dev.get())},
                    {"rootmode", "40000"},
                    {"user_id", std::to_string(c.spec.uid)},
                    {"group_id", std::to_string(c.spec.gid)},
                    {"default_permissions", ""},
                    {"subtype", "fuse-overlayfs"}},
                   kNoSuidDev);
  c.start_fuse({dev.get()});
  return mnt;
}

// The overlay home's superblock, made before it is attached. Touches nothing shared but
// reads `c`, so that apply_mounts_in_child can make it on a second thread.
struct OverlayMount {
  Fd mnt;                          // invalid when the kernel refused (see `refused`)
  Fd watch;                        // the layer's filesystem, when home.size caps an ephemeral home
  std::optional<SetupError> refused;  // the kernel's refusal, for the fuse-overlayfs fallback
  std::exception_ptr failure;      // anything else: rethrown where the step is applied
};

OverlayMount make_overlay(const Context& c, const MountStep& s) {
  OverlayMount out;
  try {
    // overlayfs resolves layer paths itself; handing it /proc/self/fd/N of fds we opened
    // without following symlinks means no escaping and no path that a planted link could
    // redirect.
    const std::string self_fd = "/oldroot/proc/self/fd/";
    Fd lower(openat2_path(c.oldroot.get(), relative_to(s.source, "/"), O_DIRECTORY,
                          RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS));
    if (!lower.valid()) throw sys_error("open home", s.source);
    Fd upper, work;
    if (s.layer_dir.empty()) {
      // Ephemeral: the layer is a tmpfs that vanishes with the sandbox.
      const std::string options = "mode=0700" + s.data;
      if (mount("tmpfs", "/layer", "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0)
        throw sys_error("mount tmpfs", "/layer (ephemeral home layer)");
      if (mkdir("/layer/upper", 0700) != 0 || mkdir("/layer/work", 0700) != 0)
        throw sys_error("create", "/layer");
      upper = Fd(openat2_path(AT_FDCWD, "/layer/upper", O_DIRECTORY, 0));
      work = Fd(openat2_path(AT_FDCWD, "/layer/work", O_DIRECTORY, 0));
      if (!upper.valid() || !work.valid()) throw sys_error("open", "/layer");
      if (c.spec.home_size) out.watch = Fd(openat2_path(AT_FDCWD, "/layer", O_DIRECTORY, 0));
    } else {
      const unsigned long long strict = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
      upper = Fd(openat2_path(c.oldroot.get(), relative_to(s.layer_dir + "/upper", "/"), O_DIRECTORY, strict));
      if (!upper.valid()) throw sys_error("open layer", s.layer_dir + "/upper");
      work = Fd(openat2_path(c.oldroot.get(), relative_to(s.layer_dir + "/work", "/"), O_DIRECTORY, strict));
      if (!work.valid()) throw sys_error("open layer", s.layer_dir + "/work");
    }
    if (c.spec.overlay_driver == SandboxSpec::OverlayDriver::kFuse) return out;
    try {
      // userxattr: whiteouts and opaque markers as user.overlay.* xattrs, the only kind an
      // unprivileged overlay may write (and no kernel log line on every mount).
      out.mnt = make_fs("overlay", s.target, "",
                        {{"lowerdir", self_fd + std::to_string(lower.get())},
                         {"upperdir", self_fd + std::to_string(upper.get())},
                         {"workdir", self_fd + std::to_string(work.get())},
                         {"userxattr", ""}},
                        kNoSuidDev);
    } catch (SetupError& e) {
      out.refused = e;
    }
  } catch (...) {
    out.failure = std::current_exception();
  }
  return out;
}

void overlay_home(Context& c, const MountStep& s, OverlayMount m) {
  if (m.failure) std::rethrow_exception(m.failure);
  if (m.watch.valid()) c.watch = std::move(m.watch);
  using Driver = SandboxSpec::OverlayDriver;
  if (m.refused) {
    SetupError& e = *m.refused;
    if (c.spec.overlay_driver == Driver::kKernel || c.spec.fuse_overlayfs.empty()) {
      if (c.spec.fuse_overlayfs.empty())
        e.hint += std::string(e.hint.empty() ? "" : "; ") +
                  "or install fuse-overlayfs (apt-get install fuse-overlayfs), which sandbox "
                  "uses where the kernel refuses";
      throw e;
    }
    c.note("the kernel refused overlayfs (" + std::string(std::strerror(e.err)) +
           "); using fuse-overlayfs");
  }
  Fd mnt = std::move(m.mnt);
  if (!mnt.valid()) mnt = fuse_overlay(c, s);
  Fd target = open_target(c, s, Make::kDir);
  if (!target.valid()) throw sys_error("resolve target", s.target);
  attach(mnt.get(), target.get(), s.target, "overlay home");
}

void hide(Context& c, const MountStep& step) {
  // A hide only takes away, so it may follow a symlink anywhere in the new root: with
  // ~/.gnupg -> /opt/keys, /opt/keys is what must appear empty. (Binds, which give, must
  // stay in the home.)
  MountStep s = step;
  s.target_in_home = false;
  Fd target = open_target(c, s, Make::kNone);
  if (!target.valid()) {
    if (errno == ENOENT) return;  // nothing there: nothing to hide
    SetupError e = sys_error("resolve", s.target);
    e.op = "resolve " + s.why + ":";
    throw e;
  }
  if (is_dir_fd(target.get())) {
    Fd mnt = make_fs("tmpfs", s.target, "mode=0755,size=4k", {},
                     kNoSuidDev | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_RDONLY);
    attach(mnt.get(), target.get(), s.target, "hide");
    return;
  }
  // A file (or socket, fifo, device): cover it with an empty read-only file.
  Fd empty(openat2_path(AT_FDCWD, "/empty", 0, 0));
  if (!empty.valid()) throw sys_error("open", "/empty");
  Fd tree(sys_open_tree(empty.get(), "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
  if (!tree.valid()) throw sys_error("hide", s.target);
  if (sys_mount_setattr(tree.get(), "", AT_EMPTY_PATH, kNoSuidDev | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC, 0) != 0)
    throw sys_error("set mount flags on", s.target);
  attach(tree.get(), target.get(), s.target, "hide");
}

// The X cookie of one display, and no other, written into the sandbox's runtime dir.
void write_xauthority(Context& c, const MountStep& s) {
  Fd src(openat2_path(c.oldroot.get(), relative_to(s.source, "/"), 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS));
  if (!src.valid()) throw sys_error("open", s.source);
  Fd in(open(("/oldroot/proc/self/fd/" + std::to_string(src.get())).c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) throw sys_error("read", s.source);
  std::string data;
  char buf[4096];
  for (ssize_t n; (n = read(in.get(), buf, sizeof(buf))) > 0;) data.append(buf, static_cast<size_t>(n));
  const size_t colon = s.data.find(':');
  const std::string cookie =
      desktop::filter_xauthority(data, s.data.substr(0, colon), s.data.substr(colon + 1));
  const std::string path = "/newroot" + s.target;
  Fd out(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid()) throw sys_error("create", s.target);
  if (write(out.get(), cookie.data(), cookie.size()) != static_cast<ssize_t>(cookie.size()))
    throw sys_error("write", s.target);
}

// The file is written in the scratch root (never seen by the app) and bound read-only.
void write_file_step(Context& c, const MountStep& s) {
  static int serial = 0;
  const std::string tmp = "/file-" + std::to_string(serial++);
  {
    Fd f(open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!f.valid() || write(f.get(), s.data.data(), s.data.size()) != static_cast<ssize_t>(s.data.size()))
      throw sys_error("write the file for", s.target);
  }
  Fd mnt(sys_open_tree(AT_FDCWD, tmp.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  if (!mnt.valid()) throw sys_error("bind the file for", s.target);
  if (sys_mount_setattr(mnt.get(), "", AT_EMPTY_PATH,
                        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0) != 0)
    throw sys_error("make read-only", s.target);
  Fd target = open_target(c, s, Make::kFile);
  if (!target.valid()) throw sys_error("resolve target", s.target);
  attach(mnt.get(), target.get(), s.target, "file");
}

void apply_step(Context& c, const MountStep& s) {
  switch (s.kind) {
    case MountKind::kBind:
      bind(c, s, kNoSuidDev | (s.read_only ? MOUNT_ATTR_RDONLY : 0));
      break;
    case MountKind::kDevNode:
      bind(c, s, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
      break;
    case MountKind::kTmpfs: {
      Fd mnt = make_fs("tmpfs", s.target, s.data, {}, kNoSuidDev);
      Fd target = open_target(c, s, Make::kDir);
      if (!target.valid()) throw sys_error("resolve target", s.target);
      attach(mnt.get(), target.get(), s.target, "tmpfs");
      if (s.why == "home" && c.spec.home_size) c.watch = std::move(mnt);
      break;
    }
    case MountKind::kProc: {
      Fd mnt = make_fs("proc", s.target, "", {}, kNoSuidDev | MOUNT_ATTR_NOEXEC);
      Fd target = open_target(c, s, Make::kDir);
      attach(mnt.get(), target.get(), s.target, "proc");
      break;
    }
    case MountKind::kDevpts: {
      Fd mnt = make_fs("devpts", s.target, "ptmxmode=0666,mode=0620", {},
                       MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
      Fd target = open_target(c, s, Make::kDir);
      attach(mnt.get(), target.get(), s.target, "devpts");
      break;
    }
    case MountKind::kSymlink:
      open_target(c, s, Make::kSymlink, s.source);
      break;
    case MountKind::kDir: {
      Fd target = open_target(c, s, Make::kDir);
      if (!target.valid()) throw sys_error("create", s.target);
      // The mode from the plan (0700 for XDG_RUNTIME_DIR); the umask must not widen it.
      const std::string proc_path = "/oldroot/proc/self/fd/" + std::to_string(target.get());
      if (chmod(proc_path.c_str(), static_cast<mode_t>(std::stoul(s.data, nullptr, 8))) != 0)
        throw sys_error("chmod", s.target);
      break;
    }
    case MountKind::kOverlayHome:
      overlay_home(c, s, make_overlay(c, s));
      break;
    case MountKind::kHide:
      hide(c, s);
      break;
    case MountKind::kXauthority:
      write_xauthority(c, s);
      break;
    case MountKind::kFile:
      write_file_step(c, s);
      break;
    case MountKind::kDbusSocket: {
      auto it = c.runtime.dbus.find(s.data);
      if (it == c.runtime.dbus.end()) throw sys_error("bind D-Bus proxy socket", s.target, ENOENT);
      MountStep sock = s;
      sock.source = it->second;
      bind(c, sock, kNoSuidDev);
      break;
    }
    case MountKind::kConsole: {
      if (c.runtime.console.empty()) break;
      MountStep dev = s;
      dev.source = c.runtime.console;
      bind(c, dev, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
      break;
    }
  }
}

}  // namespace

Fd apply_mounts_in_child(const SandboxSpec& spec, const RuntimePaths& runtime,
                         void (*note)(const std::string&), const FuseStarter& start_fuse) {
  // Our copy of the host's mounts becomes a slave: nothing we mount propagates back to the
  // host (mount_namespaces(7)).
  if (mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) != 0)
    throw sys_error("make mounts slaves", "/");
  if (mount("tmpfs", kBase, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") != 0)
    throw sys_error("mount tmpfs", kBase);
  for (const char* d : {"/tmp/newroot", "/tmp/oldroot", "/tmp/layer"})
    if (mkdir(d, 0700) != 0) throw sys_error("create", d);
  {
    Fd empty(open("/tmp/empty", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0444));
    if (!empty.valid()) throw sys_error("create", "/tmp/empty");
  }
  // pivot_root into the scratch tmpfs: the host root moves to /oldroot, where every source is
  // resolved with RESOLVE_IN_ROOT (absolute symlinks stay inside the host root).
  if (sys_pivot_root(kBase, "/tmp/oldroot") != 0) throw sys_error("pivot_root", kBase);
  if (chdir("/") != 0) throw sys_error("chdir", "/");
  if (mount("tmpfs", "/newroot", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
    throw sys_error("mount tmpfs", "/newroot");

  Context c{spec, runtime, note, start_fuse, {}, {}, {}};
  c.oldroot = Fd(openat2_path(AT_FDCWD, "/oldroot", O_DIRECTORY, 0));
  c.newroot = Fd(openat2_path(AT_FDCWD, "/newroot", O_DIRECTORY, 0));
  if (!c.oldroot.valid() || !c.newroot.valid()) throw sys_error("open", "/oldroot");

  // overlayfs spends a few hundred microseconds making the home's superblock (it prepares
  // its work directory on the layer's filesystem, docs/design.md "Costs"). Nothing else in
  // the plan depends on it, so a second thread makes it while the system, /proc and /dev are
  // put in place; the step below only attaches it. A thread, not a process: it costs tens of
  // microseconds where a fork of the launcher cost what the overlap saved.
  const MountStep* home = nullptr;
  for (const MountStep& s : spec.mounts)
    if (s.kind == MountKind::kOverlayHome) home = &s;
  OverlayMount early;
  std::thread maker;
  if (home) maker = std::thread([&] { early = make_overlay(c, *home); });
  struct Join {
    std::thread& t;
    ~Join() {
      if (t.joinable()) t.join();
    }
  } join{maker};

  for (const MountStep& s : spec.mounts) {
    try {
      if (&s == home) {
        if (maker.joinable()) maker.join();
        overlay_home(c, s, std::move(early));
        continue;
      }
      apply_step(c, s);
    } catch (SetupError& e) {
      if (e.hint.empty() && !s.why.empty() && s.why != "system") e.hint = "from " + s.why;
      throw;
    }
  }

  // pivot_root(".", ".") stacks the old root on top of the new one; detaching "." then drops
  // the scratch tmpfs and, with it, every host mount (pivot_root(2), "NOTES").
  if (fchdir(c.newroot.get()) != 0) throw sys_error("chdir", "/newroot");
  c.oldroot.reset();
  c.newroot.reset();
  if (sys_pivot_root(".", ".") != 0) throw sys_error("pivot_root", "/newroot");
  if (umount2(".", MNT_DETACH) != 0) throw sys_error("detach old root", "/");
  if (chdir("/") != 0) throw sys_error("chdir", "/");
  // The root tmpfs holds only mount points now: nothing may be added to it.
  if (sys_mount_setattr(AT_FDCWD, "/", 0, MOUNT_ATTR_RDONLY, 0) != 0)
    throw sys_error("make read-only", "/");
  return std::move(c.watch);
}

}  // namespace sandbox::launcher
