#include "overlay/changes.h"

#include "overlay/paths.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "overlay/layer.h"
#include "overlay/walk.h"

namespace sandbox::overlay {

namespace {

void collect(const Node& n, std::vector<Change>& out) {
  for (const Node& child : n.children) {
    if (child.has_change && child.selected) out.push_back(child.change);
    collect(child, out);
  }
}

}  // namespace

std::string normalize_relative_path(const std::string& path) {
  if (!path.empty() && path[0] == '/')
    throw LayerError(path, EINVAL, "expected a path relative to the home");
  const std::vector<std::string> parts = path_components(path);
  for (const auto& part : parts)
    if (part == "..") throw LayerError(path, EINVAL, "'..' is not allowed in a layer path");
  return join_components(parts);
}

bool path_selected(const std::string& path, const std::vector<std::string>& only) {
  if (only.empty()) return true;
  for (const auto& sel : only) {
    if (sel.empty() || path == sel) return true;
    if (path.size() > sel.size() && path.compare(0, sel.size(), sel) == 0 && path[sel.size()] == '/')
      return true;
  }
  return false;
}

std::vector<Change> diff_layer(const std::string& upper_dir, const std::string& home,
                               const std::vector<std::string>& only) {
  std::vector<std::string> normalized;
  for (const auto& p : only) normalized.push_back(normalize_relative_path(p));
  const OpenedLayer layer = open_layer(upper_dir, home, geteuid());
  const Node root = walk_layer(layer, normalized);
  std::vector<Change> out;
  collect(root, out);
  std::sort(out.begin(), out.end(),
            [](const Change& a, const Change& b) { return a.path < b.path; });
  return out;
}

const char* kind_name(Change::Kind kind) {
  switch (kind) {
    case Change::kAdded: return "added";
    case Change::kModified: return "modified";
    case Change::kDeleted: return "deleted";
    case Change::kTypeChanged: return "type_changed";
    case Change::kMetadata: return "metadata";
    case Change::kOpaque: return "opaque";
    case Change::kUnchanged: return "unchanged";
  }
  return "?";
}

const char* type_name(char type) {
  switch (type) {
    case 'f': return "file";
    case 'd': return "dir";
    case 'l': return "symlink";
    case 'c': return "char device";
    case 'b': return "block device";
    case 'p': return "fifo";
    case 's': return "socket";
    case '-': return "none";
    default: return "unknown";
  }
}

}  // namespace sandbox::overlay
