#include "overlay/walk.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "overlay/layer.h"

namespace sandbox::overlay {

namespace {

using fsio::EntryStat;
using fsio::UniqueFd;

// What a directory hands down to the entries below it.
struct Inherited {
  bool hides_lower = false;  // the real directory's entries do not show through
  timespec hide_ref{};       // when the topmost hiding directory was made
  std::string refused;       // everything below is refused, for this reason
};

struct Walker {
  const OpenedLayer& layer;
  const std::vector<std::string>& only;

  std::string home_path(const std::string& rel) const { return layer.home_path + "/" + rel; }
  std::string upper_path(const std::string& rel) const { return layer.upper_path + "/" + rel; }

  // Inside the selection, or on the way to it.
  bool wanted(const std::string& path) const {
    if (path_selected(path, only)) return true;
    for (const auto& sel : only)
      if (sel.size() > path.size() && sel.compare(0, path.size(), path) == 0 &&
          sel[path.size()] == '/')
        return true;
    return false;
  }

  // The state tree: never written, and never deleted along with an ancestor.
  bool in_state_tree(const std::string& path) const {
    const std::string& s = layer.state_rel;
    return !s.empty() && (path == s || (path.size() > s.size() && path.compare(0, s.size(), s) == 0 &&
                                        path[s.size()] == '/'));
  }
  bool holds_state_tree(const std::string& path) const {
    const std::string& s = layer.state_rel;
    return !s.empty() && s.size() > path.size() && s.compare(0, path.size(), path) == 0 &&
           s[path.size()] == '/';
  }

  void walk_dir(Node& dir, int upper_fd, int lower_fd, const Inherited& inh);
  Node upper_entry(const std::string& name, const std::string& path, int upper_fd, int lower_fd,
                   const Inherited& inh);
  Node lower_only_entry(const std::string& name, const std::string& path, int lower_fd,
                        const Inherited& inh);
  void describe_removal(Node& n, int lower_fd, const timespec& ref);
  bool same_content(int upper_fd, int lower_fd, const std::string& name, const std::string& path);
};

timespec ref_time(const EntryStat& st) { return st.has_btime ? st.btime : st.ctime; }

// A real entry changed after `ref`. A file with several names gets its ctime bumped when
// another name is removed (as commit does when it deletes a real subtree), so its mtime is
// what counts; a directory's own times change with every entry added or removed below it,
// also by commit, so directories are judged by their entries.
bool real_changed_after(const EntryStat& st, const timespec& ref) {
  if (st.type == 'd') return false;
  return fsio::after(st.nlink > 1 ? st.mtime : st.ctime, ref);
}

std::string conflict_reason_for(const EntryStat& real, const timespec& ref) {
  if (real.has_btime && fsio::after(real.btime, ref))
    return "the real home got its own entry here after the app made this one";
  return "changed in the real home after the app made its version";
}

// A real subtree that commit would remove: its size, and whether the host changed anything
// in it after `ref`, or it holds a mount point.
struct RemovalScan {
  uint64_t entries = 0, bytes = 0;
  std::string changed;     // first path changed after ref
  std::string mount;       // first mount point below
  std::string unreadable;  // first directory that could not be read
  std::string state_rel;   // not looked into: sandbox's state, refused anyway
};

void scan_real_subtree(int parent_fd, const std::string& name, const EntryStat& st,
                       const std::string& rel, const std::string& abs, const timespec& ref,
                       RemovalScan& scan) {
  if (!scan.state_rel.empty() && rel == scan.state_rel) return;
  if (st.type != 'd') {
    if (st.type == 'f') scan.bytes += st.size;
    if (scan.changed.empty() && real_changed_after(st, ref)) scan.changed = rel;
    return;
  }
  if (st.mount_root) {
    if (scan.mount.empty()) scan.mount = rel;
    return;
  }
  UniqueFd fd(fsio::open_dir_beneath(parent_fd, name));
  if (!fd.valid()) {
    if (errno == EXDEV) {
      if (scan.mount.empty()) scan.mount = rel;
      return;
    }
    if (errno == EACCES) {
      if (scan.unreadable.empty()) scan.unreadable = rel;
      return;
    }
    throw LayerError(abs, errno, "cannot read the real directory");
  }
  for (const auto& child : fsio::list_dir(fd.get(), abs)) {
    const EntryStat cst = fsio::stat_at(fd.get(), child, abs + "/" + child);
    if (!cst.exists) continue;
    ++scan.entries;
    scan_real_subtree(fd.get(), child, cst, rel + "/" + child, abs + "/" + child, ref, scan);
  }
}

void fill_upper(Change& c, const EntryStat& u) {
  c.upper_type = u.type;
  c.upper_mode = u.perm;
  c.upper_size = u.type == 'f' ? u.size : 0;
  c.time_basis = u.has_btime ? TimeBasis::kBirthTime : TimeBasis::kChangeTime;
}

void fill_lower(Change& c, const EntryStat& l) {
  if (!l.exists) return;
  c.lower_type = l.type;
  c.lower_mode = l.perm;
  c.lower_size = l.type == 'f' ? l.size : 0;
}

void refuse(Change& c, const std::string& reason) {
  if (c.refused) return;  // the first reason is the nearest one
  c.refused = true;
  c.conflict = false;
  c.conflict_reason = reason;
}

std::string not_a_dir_reason(const std::string& rel, const EntryStat& real,
                             const std::string& target) {
  if (real.type == 'l')
    return "~/" + rel + " is a symlink in the real home (to " + target +
           "); commit does not follow it";
  return "~/" + rel + " is no longer a directory in the real home";
}

}  // namespace

bool Walker::same_content(int upper_fd, int lower_fd, const std::string& name,
                          const std::string& path) {
  UniqueFd u(fsio::open_beneath(upper_fd, name, O_RDONLY | O_NONBLOCK));
  UniqueFd l(fsio::open_beneath(lower_fd, name, O_RDONLY | O_NONBLOCK));
  // Unreadable on either side: it cannot be shown to be the same, so it counts as changed.
  if (!u.valid() || !l.valid()) return false;
  static constexpr size_t kChunk = 1 << 16;
  std::string a(kChunk, '\0'), b(kChunk, '\0');
  for (;;) {
    const ssize_t na = read(u.get(), a.data(), kChunk);
    if (na < 0) throw LayerError(upper_path(path), errno, "cannot read");
    size_t got = 0;
    while (got < static_cast<size_t>(na)) {
      const ssize_t nb = read(l.get(), b.data() + got, static_cast<size_t>(na) - got);
      if (nb < 0) throw LayerError(home_path(path), errno, "cannot read");
      if (nb == 0) return false;
      got += static_cast<size_t>(nb);
    }
    if (std::memcmp(a.data(), b.data(), got) != 0) return false;
    if (na == 0) {
      char extra;
      return read(l.get(), &extra, 1) == 0;
    }
  }
}

void Walker::describe_removal(Node& n, int lower_fd, const timespec& ref) {
  Change& c = n.change;
  RemovalScan scan;
  scan.state_rel = layer.state_rel;
  scan_real_subtree(lower_fd, n.name, n.lower, c.path, home_path(c.path), ref, scan);
  if (n.lower.type == 'd') {
    c.lower_entries = scan.entries;
    c.lower_size = scan.bytes;
  }
  if (!scan.mount.empty())
    refuse(c, "a filesystem is mounted at ~/" + scan.mount +
                  " in the real home; the sandbox did not see it, so commit does not delete it");
  if (holds_state_tree(c.path))
    refuse(c, "~/" + c.path + " holds sandbox's own state (~/" + layer.state_rel +
                  "); commit does not delete it");
  if (!scan.unreadable.empty() && !c.refused) {
    c.conflict = true;
    c.conflict_reason = "~/" + scan.unreadable +
                        " cannot be read, so commit cannot tell whether it changed in the real home";
  } else if (!scan.changed.empty() && !c.refused) {
    c.conflict = true;
    c.conflict_reason = scan.changed == c.path
                            ? "changed in the real home after the app deleted or replaced it"
                            : "~/" + scan.changed +
                                  " changed in the real home after the app deleted or replaced ~/" +
                                  c.path;
  }
}

Node Walker::lower_only_entry(const std::string& name, const std::string& path, int lower_fd,
                              const Inherited& inh) {
  Node n;
  n.name = name;
  n.selected = path_selected(path, only);
  Change& c = n.change;
  c.path = path;
  n.lower = fsio::stat_at(lower_fd, name, home_path(path));
  if (!n.lower.exists) return n;  // gone meanwhile
  if (is_commit_temp_name(name) && n.lower.type != 'd' && n.lower.uid == geteuid()) {
    n.lower.exists = false;  // a killed commit's; not the app's change
    return n;
  }
  fill_lower(c, n.lower);
  if (n.lower.type == 'l') c.lower_link_target = fsio::read_link(lower_fd, name, home_path(path));
  c.kind = Change::kDeleted;
  c.implicit = true;
  n.has_change = true;
  describe_removal(n, lower_fd, inh.hide_ref);
  if (!inh.refused.empty()) refuse(c, inh.refused);
  return n;
}

Node Walker::upper_entry(const std::string& name, const std::string& path, int upper_fd,
                         int lower_fd, const Inherited& inh) {
  Node n;
  n.name = name;
  n.selected = path_selected(path, only);
  Change& c = n.change;
  c.path = path;
  const std::string upath = upper_path(path);
  EntryStat& u = n.upper;
  EntryStat& l = n.lower;
  u = fsio::stat_at(upper_fd, name, upath);
  if (!u.exists) return n;  // gone meanwhile
  if (auto saved = layer.journal.saved_mode(u)) u.perm = *saved;
  if (lower_fd >= 0) l = fsio::stat_at(lower_fd, name, home_path(path));
  // Below a directory that hides the real one, the app stopped seeing the real entries when
  // that directory was made: a host change since then is a conflict, whenever the app wrote.
  const timespec ref = inh.hides_lower ? inh.hide_ref : ref_time(u);
  fill_upper(c, u);
  fill_lower(c, l);
  if (l.exists && l.type == 'l') c.lower_link_target = fsio::read_link(lower_fd, name, home_path(path));
  n.has_change = true;
  std::string own_refusal;

  if (u.is_whiteout()) {
    n.whiteout = true;
    c.upper_type = '-';
    c.upper_mode = 0;
    if (!l.exists) {
      c.kind = Change::kUnchanged;  // the real entry is gone already
    } else {
      c.kind = Change::kDeleted;
      describe_removal(n, lower_fd, ref);
    }
  } else if (u.type == 'd') {
    UniqueFd ufd(fsio::open_dir_beneath(upper_fd, name));
    if (!ufd.valid())
      throw LayerError(upath, errno,
                       errno == EACCES ? "cannot read the layer's directory (the app made it "
                                         "unreadable; chmod u+rx it or reset it)"
                                       : "cannot open the layer's directory");
    if (fsio::get_xattr_fd(ufd.get(), "user.overlay.redirect", upath))
      throw LayerError(upath, EINVAL,
                       "not a layer sandbox can read: a renamed directory (user.overlay.redirect) "
                       "is recorded, which the userxattr mount never writes");
    for (const char* attr : {"user.overlay.opaque", "user.fuseoverlayfs.opaque", "trusted.overlay.opaque"}) {
      const auto v = fsio::get_xattr_fd(ufd.get(), attr, upath);
      if (v && *v == "y") {
        n.opaque = true;
        n.opaque_xattr = attr;
        break;
      }
    }
    if (n.opaque && n.opaque_xattr != "user.overlay.opaque")
      n.opaque_marker = fsio::stat_at(ufd.get(), kFuseOpaqueMarker, upath + "/" + kFuseOpaqueMarker).exists;
    n.hides_lower = n.opaque || inh.hides_lower;
    UniqueFd lfd;
    if (!l.exists) {
      c.kind = Change::kAdded;
    } else if (l.type == 'd') {
      if (l.mount_root) {
        own_refusal = "a filesystem is mounted at ~/" + path +
                      " in the real home; the sandbox saw the directory under it";
      } else {
        lfd = UniqueFd(fsio::open_dir_beneath(lower_fd, name));
        if (!lfd.valid()) {
          if (errno != EXDEV) throw LayerError(home_path(path), errno, "cannot open");
          own_refusal = "a filesystem is mounted at ~/" + path + " in the real home";
        }
      }
      c.mode_changed = u.perm != l.perm;
      if (n.opaque) c.kind = Change::kOpaque;
      else if (c.mode_changed) c.kind = Change::kMetadata;
      else n.has_change = false;
      if (n.opaque && holds_state_tree(path))
        own_refusal = "~/" + path + " holds sandbox's own state (~/" + layer.state_rel +
                      "); commit does not replace it";
    } else {
      c.kind = Change::kTypeChanged;
      if (n.hides_lower) {
        if (real_changed_after(l, ref)) {
          c.conflict = true;
          c.conflict_reason = conflict_reason_for(l, ref);
        }
      } else {
        // Not opaque, so overlayfs did not make this directory over a deleted real entry:
        // the real home changed underneath it.
        own_refusal = not_a_dir_reason(path, l, c.lower_link_target);
      }
    }
    Inherited below;
    below.hides_lower = n.hides_lower;
    below.hide_ref = inh.hides_lower ? inh.hide_ref : ref;
    below.refused = !inh.refused.empty() ? inh.refused : own_refusal;
    if (wanted(path)) walk_dir(n, ufd.get(), lfd.get(), below);
  } else {
    if (u.type == 'l') c.link_target = fsio::read_link(upper_fd, name, upath);
    if (u.type == 'c' || u.type == 'b' || u.type == 's')
      own_refusal = "device nodes and sockets are not committed";
    if (!l.exists) {
      c.kind = Change::kAdded;
    } else if (l.type == 'd') {
      c.kind = Change::kTypeChanged;
      describe_removal(n, lower_fd, ref);
    } else if (l.type != u.type) {
      c.kind = Change::kTypeChanged;
    } else {
      c.mode_changed = u.type != 'l' && u.perm != l.perm;
      c.mtime_changed = u.type != 'l' && (u.mtime.tv_sec != l.mtime.tv_sec ||
                                          u.mtime.tv_nsec != l.mtime.tv_nsec);
      bool same = false;
      if (u.type == 'f') same = u.size == l.size && same_content(upper_fd, lower_fd, name, path);
      else if (u.type == 'l') same = c.link_target == c.lower_link_target;
      else same = true;  // fifos: no content
      if (!same) c.kind = Change::kModified;
      else if (c.mode_changed || c.mtime_changed) c.kind = Change::kMetadata;
      else c.kind = Change::kUnchanged;
      c.unchanged_content = same;
    }
    // A real entry that changed after the app made its version is a conflict, unless the
    // app's version has the same bytes (e.g. a commit that was stopped after writing it).
    if ((c.kind == Change::kModified || c.kind == Change::kTypeChanged) && l.type != 'd' &&
        real_changed_after(l, ref)) {
      c.conflict = true;
      c.conflict_reason = conflict_reason_for(l, ref);
    }
  }
  if (in_state_tree(path))
    own_refusal = "inside sandbox's own state directory (~/" + layer.state_rel + ")";
  if (!inh.refused.empty()) refuse(c, inh.refused);
  if (!own_refusal.empty()) refuse(c, own_refusal);
  return n;
}

void Walker::walk_dir(Node& dir, int upper_fd, int lower_fd, const Inherited& inh) {
  const std::string& dpath = dir.change.path;
  std::vector<std::string> upper_names =
      fsio::list_dir(upper_fd, dpath.empty() ? layer.upper_path : upper_path(dpath));
  if (dir.opaque_marker)
    upper_names.erase(std::remove(upper_names.begin(), upper_names.end(), kFuseOpaqueMarker),
                      upper_names.end());
  std::vector<std::string> lower_names;
  if (inh.hides_lower && lower_fd >= 0)
    lower_names = fsio::list_dir(lower_fd, dpath.empty() ? layer.home_path : home_path(dpath));
  // Both lists are sorted: merge them, so that children come out in byte order.
  size_t i = 0, j = 0;
  while (i < upper_names.size() || j < lower_names.size()) {
    const bool take_upper =
        j >= lower_names.size() || (i < upper_names.size() && upper_names[i] <= lower_names[j]);
    const std::string& name = take_upper ? upper_names[i] : lower_names[j];
    const bool in_both = take_upper && j < lower_names.size() && upper_names[i] == lower_names[j];
    const std::string path = fsio::join(dpath, name);
    if (wanted(path)) {
      Node n = take_upper ? upper_entry(name, path, upper_fd, lower_fd, inh)
                          : lower_only_entry(name, path, lower_fd, inh);
      if (n.upper.exists || n.lower.exists) dir.children.push_back(std::move(n));
    }
    if (take_upper) ++i;
    if (!take_upper || in_both) ++j;
  }
}

OpenedLayer open_layer(const std::string& upper_dir, const std::string& home, uid_t uid) {
  OpenedLayer o;
  o.upper_path = upper_dir;
  o.root_path = fsio::dir_name(upper_dir);
  o.home_path = home;
  while (o.home_path.size() > 1 && o.home_path.back() == '/') o.home_path.pop_back();
  if (o.root_path.empty()) throw LayerError(upper_dir, EINVAL, "layer path must be absolute");
  o.root = fsio::open_dir_path(o.root_path, "the layer");
  auto check_owned = [&](int fd, const std::string& path) {
    const EntryStat st = fsio::stat_fd(fd, path);
    if (st.uid != uid)
      throw LayerError(path, EPERM,
                       "layer directory is owned by uid " + std::to_string(st.uid) +
                           ", not by you (uid " + std::to_string(uid) + "); refusing to use it");
  };
  check_owned(o.root.get(), o.root_path);
  o.upper = UniqueFd(fsio::open_dir_beneath(o.root.get(), fsio::base_name(upper_dir)));
  if (!o.upper.valid()) {
    const int err = errno;
    if (err == ENOENT)
      throw LayerError(upper_dir, err, "not a valid layer: its upper directory is missing");
    if (err == ENOTDIR || err == ELOOP)
      throw LayerError(upper_dir, err, "not a valid layer: upper is not a directory");
    throw LayerError(upper_dir, err, "cannot open the layer's upper directory");
  }
  check_owned(o.upper.get(), upper_dir);
  o.home = fsio::open_dir_path(o.home_path, "the home");
  o.journal = ModeJournal::load(o.root.get(), o.root_path);
  // The state dir is the layer root's parent: STATE/APP/upper.
  const std::string state = fsio::dir_name(o.root_path);
  const std::string prefix = o.home_path == "/" ? "/" : o.home_path + "/";
  if (state.size() > prefix.size() && state.compare(0, prefix.size(), prefix) == 0)
    o.state_rel = state.substr(prefix.size());
  return o;
}

Node walk_layer(const OpenedLayer& layer, const std::vector<std::string>& only) {
  Walker w{layer, only};
  Node root;
  root.selected = path_selected("", only);
  root.upper = fsio::stat_fd(layer.upper.get(), layer.upper_path);
  root.lower = fsio::stat_fd(layer.home.get(), layer.home_path);
  root.change.kind = Change::kUnchanged;
  root.change.upper_type = root.change.lower_type = 'd';
  if (fsio::get_xattr_fd(layer.upper.get(), "user.overlay.redirect", layer.upper_path))
    throw LayerError(layer.upper_path, EINVAL,
                     "not a layer sandbox can read: user.overlay.redirect is set");
  w.walk_dir(root, layer.upper.get(), layer.home.get(), Inherited{});
  return root;
}

}  // namespace sandbox::overlay
