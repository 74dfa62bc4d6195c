#include "overlay/reset.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "overlay/changes.h"
#include "overlay/mode_journal.h"
#include "overlay/tree_io.h"

namespace sandbox::overlay {

namespace {

using fsio::EntryStat;
using fsio::UniqueFd;

void check_owned(int fd, const std::string& path) {
  const EntryStat st = fsio::stat_fd(fd, path);
  if (st.uid != geteuid())
    throw LayerError(path, EPERM,
                     "layer directory is owned by uid " + std::to_string(st.uid) +
                         ", not by you; refusing to use it");
}

// Empties the directory `name` below root_fd (a layer dir), keeping the directory itself.
void empty_layer_dir(int root_fd, const std::string& name, const std::string& path, bool dry_run,
                     std::vector<std::string>* dropped) {
  UniqueFd fd(fsio::open_dir_beneath(root_fd, name));
  if (!fd.valid()) {
    if (errno == ENOENT) return;
    throw LayerError(path, errno, "cannot open the layer's directory");
  }
  check_owned(fd.get(), path);
  for (const auto& child : fsio::list_dir(fd.get(), path)) {
    if (dropped) dropped->push_back(child);
    if (!dry_run) remove_tree(fd.get(), child, path + "/" + child);
  }
}

void reset_path(int root_fd, const std::string& root_path, int upper_fd,
                const std::string& upper_path, const std::string& rel, bool dry_run,
                ResetReport& report) {
  UniqueFd dir(dup(upper_fd));
  std::string so_far;
  std::string opaque_ancestor;
  size_t pos = 0;
  for (;;) {
    const size_t slash = rel.find('/', pos);
    const std::string name = rel.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    const std::string path = fsio::join(so_far, name);
    const EntryStat st = fsio::stat_at(dir.get(), name, upper_path + "/" + path);
    if (!st.exists) {
      if (!opaque_ancestor.empty())
        report.notes.push_back("~/" + rel + ": ~/" + opaque_ancestor +
                               " replaced the real directory; reset ~/" + opaque_ancestor +
                               " to see the real ~/" + rel + " again");
      else
        report.notes.push_back("~/" + rel + ": nothing in the layer");
      return;
    }
    if (slash == std::string::npos) {
      report.dropped.push_back(rel);
      if (dry_run) return;
      // The parent may be a directory the app made read-only: its mode is journaled before
      // it is opened up, so diff and commit still see the app's mode.
      const EntryStat parent = fsio::stat_fd(dir.get(), upper_path + "/" + so_far);
      if ((parent.perm & 0300) != 0300) {
        ModeJournal journal = ModeJournal::load(root_fd, root_path);
        if (!journal.saved_mode(parent)) journal.append(root_fd, root_path, parent);
        if (fchmod(dir.get(), parent.perm | 0300) != 0)
          throw LayerError(upper_path + "/" + so_far, errno, "cannot chmod the layer's directory");
      }
      remove_tree(dir.get(), name, upper_path + "/" + path);
      return;
    }
    if (st.type != 'd') {
      report.notes.push_back("~/" + rel + ": ~/" + path +
                             (st.is_whiteout() ? " is deleted in the layer" : " is not a directory in the layer") +
                             "; reset ~/" + path + " instead");
      return;
    }
    UniqueFd next(fsio::open_dir_beneath(dir.get(), name));
    if (!next.valid()) throw LayerError(upper_path + "/" + path, errno, "cannot open the layer's directory");
    for (const char* attr : {"user.overlay.opaque", "user.fuseoverlayfs.opaque", "trusted.overlay.opaque"}) {
      const auto opaque = fsio::get_xattr_fd(next.get(), attr, upper_path + "/" + path);
      if (opaque && *opaque == "y" && opaque_ancestor.empty()) opaque_ancestor = path;
    }
    dir = std::move(next);
    so_far = path;
    pos = slash + 1;
  }
}

}  // namespace

ResetReport reset_layer(const LayerPaths& layer, const std::vector<std::string>& only,
                        bool dry_run) {
  std::vector<std::string> paths;
  bool all = only.empty();
  for (const auto& p : only) {
    paths.push_back(normalize_relative_path(p));
    if (paths.back().empty()) all = true;
  }
  ResetReport report;
  UniqueFd root = fsio::open_dir_path(layer.root, "the layer");
  check_owned(root.get(), layer.root);
  const std::string upper_name = fsio::base_name(layer.upper);
  if (all) {
    empty_layer_dir(root.get(), upper_name, layer.upper, dry_run, &report.dropped);
    if (dry_run) return report;
    // overlayfs's scratch dir: work/work is mode 0000 after a mount.
    UniqueFd work(fsio::open_dir_beneath(root.get(), fsio::base_name(layer.work)));
    if (work.valid()) {
      check_owned(work.get(), layer.work);
      const EntryStat ww = fsio::stat_at(work.get(), "work", layer.work + "/work");
      if (ww.exists && ww.type == 'd' && (ww.perm & 0700) != 0700 &&
          fchmodat(work.get(), "work", 0700, AT_SYMLINK_NOFOLLOW) != 0)
        throw LayerError(layer.work + "/work", errno, "cannot chmod");
      empty_layer_dir(root.get(), fsio::base_name(layer.work), layer.work, false, nullptr);
    } else if (errno != ENOENT) {
      throw LayerError(layer.work, errno, "cannot open the layer's directory");
    }
    if (unlinkat(root.get(), kModeJournalName, 0) != 0 && errno != ENOENT)
      throw LayerError(layer.root + "/" + kModeJournalName, errno, "cannot remove");
    return report;
  }
  UniqueFd upper(fsio::open_dir_beneath(root.get(), upper_name));
  if (!upper.valid()) {
    if (errno == ENOENT) return report;
    throw LayerError(layer.upper, errno, "cannot open the layer's upper directory");
  }
  check_owned(upper.get(), layer.upper);
  for (const auto& rel : paths)
    reset_path(root.get(), layer.root, upper.get(), layer.upper, rel, dry_run, report);
  return report;
}

void remove_tree(int parent_fd, const std::string& name, const std::string& path) {
  const EntryStat st = fsio::stat_at(parent_fd, name, path);
  if (!st.exists) return;
  if (st.type != 'd') {
    if (unlinkat(parent_fd, name.c_str(), 0) != 0 && errno != ENOENT)
      throw LayerError(path, errno, "cannot remove from the layer");
    return;
  }
  if ((st.perm & 0700) != 0700 &&
      fchmodat(parent_fd, name.c_str(), st.perm | 0700, AT_SYMLINK_NOFOLLOW) != 0)
    throw LayerError(path, errno, "cannot chmod the layer's directory");
  UniqueFd fd(fsio::open_dir_beneath(parent_fd, name));
  if (!fd.valid()) throw LayerError(path, errno, "cannot open the layer's directory");
  for (const auto& child : fsio::list_dir(fd.get(), path))
    remove_tree(fd.get(), child, path + "/" + child);
  if (unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    throw LayerError(path, errno, "cannot remove from the layer");
}

}  // namespace sandbox::overlay
