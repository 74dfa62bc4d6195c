#include "overlay/commit_steps.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace sandbox::overlay {

using fsio::EntryStat;
using fsio::UniqueFd;

void Mutations::next() {
  if (++count_ == fault_at_) raise(SIGKILL);
}

bool should_apply(const Node& n, bool force) {
  return n.has_change && n.selected && !n.change.refused && (force || !n.change.conflict);
}

namespace {

bool is_upper_dir(const Node& n) { return n.upper.exists && n.upper.type == 'd'; }
bool is_deletion(const Node& n) { return !n.upper.exists || n.whiteout; }

std::string temp_name() {
  static const char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char rnd[kCommitTempRandom];
  if (getrandom(rnd, sizeof(rnd), 0) != static_cast<ssize_t>(sizeof(rnd)))
    for (auto& b : rnd) b = static_cast<unsigned char>(std::rand());
  std::string name = kCommitTempPrefix;
  for (unsigned char b : rnd) name += kChars[b % (sizeof(kChars) - 1)];
  return name;
}

[[noreturn]] void fail(const std::string& path, const std::string& what, int err = errno) {
  throw LayerError(path, err, what);
}

bool all_applied(const Node& n) {
  for (const Node& child : n.children)
    if ((child.has_change && !child.applied) || !all_applied(child)) return false;
  return true;
}

bool any_applied(const Node& n) {
  for (const Node& child : n.children)
    if (child.applied || any_applied(child)) return true;
  return false;
}

}  // namespace

void Committer::remove_leftover_temps(int real_fd, const std::string& rel) {
  for (const auto& name : fsio::list_dir(real_fd, rel.empty() ? layer_.home_path : real_path(rel))) {
    if (!is_commit_temp_name(name)) continue;
    const EntryStat st = fsio::stat_at(real_fd, name, real_path(fsio::join(rel, name)));
    if (!st.exists || st.type == 'd' || st.uid != geteuid()) continue;
    mut_.next();
    if (unlinkat(real_fd, name.c_str(), 0) != 0 && errno != ENOENT)
      fail(real_path(fsio::join(rel, name)), "cannot remove a temp file of an earlier commit");
  }
}

void Committer::remove_real_tree(int parent_fd, const std::string& name, const std::string& rel) {
  UniqueFd fd(fsio::open_dir_beneath(parent_fd, name));
  if (!fd.valid() && errno == EACCES) {
    // The directory goes anyway: let us in first.
    mut_.next();
    if (fchmodat(parent_fd, name.c_str(), 0700, AT_SYMLINK_NOFOLLOW) != 0)
      fail(real_path(rel), "cannot chmod");
    fd = UniqueFd(fsio::open_dir_beneath(parent_fd, name));
  }
  if (!fd.valid()) {
    if (errno == ENOENT) return;
    if (errno == ELOOP || errno == ENOTDIR)
      fail(real_path(rel), "changed into a non-directory while commit ran; not followed");
    if (errno == EXDEV) fail(real_path(rel), "a filesystem is mounted here; not deleted");
    fail(real_path(rel), "cannot open");
  }
  const EntryStat st = fsio::stat_fd(fd.get(), real_path(rel));
  if ((st.perm & 0700) != 0700) {
    mut_.next();
    if (fchmod(fd.get(), st.perm | 0700) != 0) fail(real_path(rel), "cannot chmod");
  }
  for (const auto& child : fsio::list_dir(fd.get(), real_path(rel))) {
    const std::string crel = rel + "/" + child;
    const EntryStat cst = fsio::stat_at(fd.get(), child, real_path(crel));
    if (!cst.exists) continue;
    if (cst.type == 'd') {
      remove_real_tree(fd.get(), child, crel);
    } else {
      mut_.next();
      if (unlinkat(fd.get(), child.c_str(), 0) != 0 && errno != ENOENT)
        fail(real_path(crel), "cannot delete");
    }
  }
  mut_.next();
  if (unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    fail(real_path(rel), "cannot delete directory");
}

void Committer::remove_real(int real_fd, const Node& n) {
  const EntryStat now = fsio::stat_at(real_fd, n.name, real_path(n.change.path));
  if (!now.exists) return;
  if (now.type == 'd') {
    remove_real_tree(real_fd, n.name, n.change.path);
    return;
  }
  mut_.next();
  if (unlinkat(real_fd, n.name.c_str(), 0) != 0 && errno != ENOENT)
    fail(real_path(n.change.path), "cannot delete");
}

// The layer's own entries may have been made inaccessible by the app (a 0555 directory, a
// 0200 file). Their mode is journaled before it is changed, so it is never lost.
void Committer::make_layer_entry_accessible(int fd, const std::string& rel, mode_t need) {
  EntryStat st = fsio::stat_fd(fd, upper_path(rel));
  if ((st.perm & need) == need) return;
  if (auto saved = journal_.saved_mode(st)) st.perm = *saved;
  else {
    mut_.next();
    journal_.append(layer_.root.get(), layer_.root_path, st);
  }
  mut_.next();
  const EntryStat cur = fsio::stat_fd(fd, upper_path(rel));
  if (fchmod(fd, cur.perm | need) != 0) fail(upper_path(rel), "cannot chmod the layer's copy");
}

void Committer::copy_file(Node& n, int real_fd, int upper_fd, const std::string& tmp) {
  const std::string& rel = n.change.path;
  UniqueFd in(fsio::open_beneath(upper_fd, n.name, O_RDONLY | O_NONBLOCK));
  if (!in.valid() && errno == EACCES) {
    UniqueFd path_fd(fsio::open_beneath(upper_fd, n.name, O_PATH));
    if (!path_fd.valid()) fail(upper_path(rel), "cannot open the layer's copy");
    // fchmod needs a real fd: go through the O_PATH fd's magic link, which names this inode.
    const EntryStat st = fsio::stat_fd(path_fd.get(), upper_path(rel));
    if (st.type != 'f') fail(upper_path(rel), "changed while commit ran", EAGAIN);
    if (!journal_.saved_mode(st)) {
      mut_.next();
      journal_.append(layer_.root.get(), layer_.root_path, st);
    }
    mut_.next();
    const std::string via = "/proc/self/fd/" + std::to_string(path_fd.get());
    if (chmod(via.c_str(), st.perm | 0400) != 0) fail(upper_path(rel), "cannot chmod the layer's copy");
    in = UniqueFd(fsio::open_beneath(upper_fd, n.name, O_RDONLY | O_NONBLOCK));
  }
  if (!in.valid()) fail(upper_path(rel), "cannot open the layer's copy");
  const EntryStat st = fsio::stat_fd(in.get(), upper_path(rel));
  if (st.type != 'f') fail(upper_path(rel), "changed while commit ran", EAGAIN);
  mut_.next();
  UniqueFd out(fsio::open_beneath(real_fd, tmp, O_WRONLY | O_CREAT | O_EXCL, 0600));
  if (!out.valid()) fail(real_path(fsio::join(fsio::dir_name(rel), tmp)), "cannot create");
  const std::string tmp_path = real_path(fsio::join(fsio::dir_name(rel), tmp));
  mut_.next();
  bool plain_copy = false;
  for (;;) {
    if (!plain_copy) {
      const ssize_t n_copied = copy_file_range(in.get(), nullptr, out.get(), nullptr, 1 << 30, 0);
      if (n_copied > 0) continue;
      if (n_copied == 0) break;
      if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
        plain_copy = true;
        continue;
      }
      fail(tmp_path, "cannot write");
    }
    char buf[1 << 16];
    const ssize_t got = read(in.get(), buf, sizeof(buf));
    if (got < 0) fail(upper_path(rel), "cannot read the layer's copy");
    if (got == 0) break;
    for (ssize_t off = 0; off < got;) {
      const ssize_t w = write(out.get(), buf + off, static_cast<size_t>(got - off));
      if (w < 0) fail(tmp_path, "cannot write");
      off += w;
    }
  }
  mut_.next();
  if (fchmod(out.get(), n.upper.perm) != 0) fail(tmp_path, "cannot chmod");
  const timespec times[2] = {{0, UTIME_OMIT}, n.upper.mtime};
  mut_.next();
  if (futimens(out.get(), times) != 0) fail(tmp_path, "cannot set the mtime of");
  // No fsync per file: one syncfs() of the home puts everything on disk before anything
  // leaves the layer (commit_layer), so a crash never loses the layer's copy, and 10,000
  // files commit in well under a second instead of one disk flush each.
}

// The layer and the home are usually one filesystem: then the layer's entry itself is renamed
// into place, which lands it and drops it from the layer in one atomic step, and makes no new
// inode (10,000 new files commit fast, and hard links among them stay links). Not below a
// directory that hides the real one: there the entry must stay in the layer until that
// directory loses its mark (drop_from_layer). overlayfs's own xattrs stay behind.
bool Committer::move_into_place(Node& n, const Node& parent, int real_fd, int upper_fd) {
  const std::string upath = upper_path(n.change.path);
  if (n.upper.type != 'l') {
    const std::string via = "/proc/self/fd/" + std::to_string(upper_fd) + "/" + n.name;
    std::string names(1024, '\0');
    ssize_t len = llistxattr(via.c_str(), names.data(), names.size());
    if (len < 0 && errno == ERANGE) {
      len = llistxattr(via.c_str(), nullptr, 0);
      if (len > 0) {
        names.resize(static_cast<size_t>(len));
        len = llistxattr(via.c_str(), names.data(), names.size());
      }
    }
    if (len < 0 && errno != ENOTSUP) return false;
    for (size_t pos = 0; len > 0 && pos < static_cast<size_t>(len);) {
      const std::string attr(names.c_str() + pos);
      pos += attr.size() + 1;
      if (attr.rfind("user.overlay.", 0) != 0 && attr.rfind("user.fuseoverlayfs.", 0) != 0 &&
          attr.rfind("trusted.overlay.", 0) != 0)
        continue;
      mut_.next();
      if (lremovexattr(via.c_str(), attr.c_str()) != 0 && errno != ENODATA)
        return false;  // e.g. a read-only file: copy it instead
    }
  }
  make_layer_entry_accessible(upper_fd, parent.change.path, 0300);
  const bool was_there = n.lower.exists && n.change.lower_type != 'd';
  mut_.next();
  if (renameat2(upper_fd, n.name.c_str(), real_fd, n.name.c_str(), was_there ? 0 : RENAME_NOREPLACE) != 0) {
    if (errno == EXDEV) return false;
    fail(real_path(n.change.path),
         errno == EEXIST ? "appeared in the real home while commit ran" : "cannot move into place");
  }
  n.applied = true;
  return true;
}

void Committer::place(Node& n, const Node& parent, int real_fd, int upper_fd) {
  const Change& c = n.change;
  const std::string target = real_path(c.path);
  if (c.kind == Change::kUnchanged) {
    n.applied = true;
    return;
  }
  if (c.kind == Change::kMetadata) {
    const EntryStat now = fsio::stat_at(real_fd, n.name, target);
    if (!now.exists || now.type != n.lower.type)
      fail(target, "changed in the real home while commit ran", EAGAIN);
    if (c.mode_changed) {
      mut_.next();
      if (fchmodat(real_fd, n.name.c_str(), n.upper.perm, AT_SYMLINK_NOFOLLOW) != 0)
        fail(target, "cannot chmod");
    }
    if (c.mtime_changed) {
      const timespec times[2] = {{0, UTIME_OMIT}, n.upper.mtime};
      mut_.next();
      if (utimensat(real_fd, n.name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
        fail(target, "cannot set the mtime of");
    }
    n.applied = true;
    return;
  }
  if (!parent.hides_lower && move_into_place(n, parent, real_fd, upper_fd)) return;
  const std::string tmp = temp_name();
  try {
    make_temp(n, real_fd, upper_fd, tmp);
  } catch (const LayerError&) {
    unlinkat(real_fd, tmp.c_str(), 0);
    throw;
  }
  // Something new must not replace what appeared in the real home meanwhile.
  const bool was_there = n.lower.exists && c.lower_type != 'd';
  mut_.next();
  if (renameat2(real_fd, tmp.c_str(), real_fd, n.name.c_str(), was_there ? 0 : RENAME_NOREPLACE) != 0) {
    const int err = errno;
    unlinkat(real_fd, tmp.c_str(), 0);
    fail(target, err == EEXIST ? "appeared in the real home while commit ran" : "cannot rename into place", err);
  }
  n.applied = true;
}

void Committer::make_temp(Node& n, int real_fd, int upper_fd, const std::string& tmp) {
  const Change& c = n.change;
  const std::string tmp_path = real_path(fsio::join(fsio::dir_name(c.path), tmp));
  const timespec times[2] = {{0, UTIME_OMIT}, n.upper.mtime};
  switch (n.upper.type) {
    case 'f':
      copy_file(n, real_fd, upper_fd, tmp);
      break;
    case 'l':
      mut_.next();
      if (symlinkat(c.link_target.c_str(), real_fd, tmp.c_str()) != 0) fail(tmp_path, "cannot create symlink");
      mut_.next();
      if (utimensat(real_fd, tmp.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
        fail(tmp_path, "cannot set the mtime of");
      break;
    case 'p':
      mut_.next();
      if (mknodat(real_fd, tmp.c_str(), S_IFIFO | 0600, 0) != 0) fail(tmp_path, "cannot create fifo");
      mut_.next();
      if (fchmodat(real_fd, tmp.c_str(), n.upper.perm, AT_SYMLINK_NOFOLLOW) != 0) fail(tmp_path, "cannot chmod");
      mut_.next();
      if (utimensat(real_fd, tmp.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
        fail(tmp_path, "cannot set the mtime of");
      break;
    default:
      fail(real_path(c.path), std::string("cannot commit a ") + type_name(n.upper.type), EINVAL);
  }
}

void Committer::finish_dir(Node& n, int real_fd) {
  const Change& c = n.change;
  const bool made = c.kind == Change::kAdded || c.kind == Change::kTypeChanged;
  if (made || c.mode_changed) {
    mut_.next();
    if (fchmod(real_fd, n.upper.perm) != 0) fail(real_path(c.path), "cannot chmod");
  }
  if (made || c.kind == Change::kMetadata) {
    const timespec times[2] = {{0, UTIME_OMIT}, n.upper.mtime};
    mut_.next();
    if (futimens(real_fd, times) != 0) fail(real_path(c.path), "cannot set the mtime of");
  }
  n.applied = true;
}

void Committer::apply_dir(Node& dir, int real_fd, int upper_fd, bool self) {
  const bool force = opts_.force;
  bool writes = false, adds_or_removes = false;
  for (const Node& child : dir.children) {
    if (!should_apply(child, force)) continue;
    const Change::Kind k = child.change.kind;
    const bool entry_change = k != Change::kMetadata && k != Change::kUnchanged && k != Change::kOpaque;
    writes |= entry_change && !is_deletion(child) && !is_upper_dir(child);
    adds_or_removes |= entry_change;
  }
  // A real directory that is read-only (the app made it so, or made it writable only in the
  // layer) is opened up while its entries change; its mode is set again below.
  std::optional<mode_t> restore;
  if (adds_or_removes) {
    const EntryStat st = fsio::stat_fd(real_fd, real_path(dir.change.path));
    if ((st.perm & 0300) != 0300) {
      mut_.next();
      if (fchmod(real_fd, st.perm | 0700) != 0) fail(real_path(dir.change.path), "cannot chmod");
      restore = st.perm;
    }
  }
  if (writes) remove_leftover_temps(real_fd, dir.change.path);

  // 1. What goes: deletions, and the real side of type changes that cannot be a rename.
  for (Node& child : dir.children) {
    if (!should_apply(child, force)) continue;
    const Change& c = child.change;
    if (is_deletion(child)) {
      if (c.kind == Change::kDeleted) remove_real(real_fd, child);
      child.applied = true;
    } else if (c.kind == Change::kTypeChanged && (c.lower_type == 'd' || is_upper_dir(child))) {
      remove_real(real_fd, child);
    }
  }
  // 2. Files, symlinks, fifos.
  for (Node& child : dir.children)
    if (should_apply(child, force) && !is_deletion(child) && !is_upper_dir(child))
      place(child, dir, real_fd, upper_fd);
  // 3. Directories: made before their entries, mode and mtime after them.
  for (Node& child : dir.children) {
    if (!is_upper_dir(child)) continue;
    const bool child_self = should_apply(child, force);
    if (!child_self && !child.apply_below) continue;
    const Change& c = child.change;
    const std::string rpath = real_path(c.path);
    if (child_self && (c.kind == Change::kAdded || c.kind == Change::kTypeChanged)) {
      mut_.next();
      if (mkdirat(real_fd, child.name.c_str(), 0700) != 0) fail(rpath, "cannot create directory");
    }
    UniqueFd rfd(fsio::open_dir_beneath(real_fd, child.name));
    if (!rfd.valid()) {
      if (errno == ELOOP || errno == ENOTDIR)
        fail(rpath, "is not a directory in the real home any more (a symlink?); not followed");
      fail(rpath, "cannot open");
    }
    UniqueFd ufd(fsio::open_dir_beneath(upper_fd, child.name));
    if (!ufd.valid()) fail(upper_path(c.path), "cannot open the layer's directory");
    apply_dir(child, rfd.get(), ufd.get(), child_self);
  }
  if (self) finish_dir(dir, real_fd);
  const Change& c = dir.change;
  const bool mode_set = self && (c.kind == Change::kAdded || c.kind == Change::kTypeChanged || c.mode_changed);
  if (restore && !mode_set) {
    mut_.next();
    if (fchmod(real_fd, *restore) != 0) fail(real_path(c.path), "cannot chmod");
  }
}

void Committer::remove_opaque_marker(const Node& n, int ufd) {
  make_layer_entry_accessible(ufd, n.change.path, 0300);
  mut_.next();
  if (unlinkat(ufd, kFuseOpaqueMarker, 0) != 0 && errno != ENOENT)
    fail(upper_path(n.change.path) + "/" + kFuseOpaqueMarker, "cannot remove from the layer");
}

// `hidden`: the real directory does not show through `dir` (it or an ancestor is still
// opaque), so the layer's entries in it stay even when applied: without them the merged view
// would lose them. An opaque directory loses its mark first, once all of it is applied.
void Committer::drop_from_layer(Node& dir, int upper_fd, bool hidden) {
  const std::string& dpath = dir.change.path;
  for (Node& child : dir.children) {
    if (!child.upper.exists) continue;  // nothing of it in the layer
    const std::string upath = upper_path(child.change.path);
    if (!is_upper_dir(child)) {
      if (!child.applied || (hidden && !child.whiteout)) continue;
      make_layer_entry_accessible(upper_fd, dpath, 0300);
      mut_.next();
      if (unlinkat(upper_fd, child.name.c_str(), 0) != 0 && errno != ENOENT)
        fail(upath, "cannot remove from the layer");
      continue;
    }
    const bool container = !child.has_change;
    if (!child.applied && !any_applied(child) && !container) continue;
    UniqueFd ufd(fsio::open_dir_beneath(upper_fd, child.name));
    if (!ufd.valid()) {
      if (errno == ENOENT) continue;
      fail(upath, "cannot open the layer's directory");
    }
    bool child_hidden = hidden;
    if (child.opaque) {
      if (!hidden && child.applied && child.selected && all_applied(child)) {
        // The real directory now has exactly the layer's entries: merging shows the same.
        // fuse-overlayfs's marker file goes first: without the xattr it would read as an entry.
        if (child.opaque_marker) remove_opaque_marker(child, ufd.get());
        make_layer_entry_accessible(ufd.get(), child.change.path, 0300);
        mut_.next();
        if (fremovexattr(ufd.get(), child.opaque_xattr.c_str()) != 0 && errno != ENODATA)
          fail(upath, "cannot clear the opaque mark in the layer");
      } else {
        child_hidden = true;
      }
    }
    drop_from_layer(child, ufd.get(), child_hidden);
    if (child_hidden || !(child.applied || container)) continue;
    if (!fsio::list_dir(ufd.get(), upath).empty()) continue;
    make_layer_entry_accessible(upper_fd, dpath, 0300);
    mut_.next();
    if (unlinkat(upper_fd, child.name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
      fail(upath, "cannot remove from the layer");
  }
}

}  // namespace sandbox::overlay
