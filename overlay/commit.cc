// Commit, and why it can be killed at any point.
//
// The invariant: at every moment, the layer seen over the real home shows what the app saw
// (the merged view does not change), and the real home only moves towards that view. Then a
// commit stopped anywhere leaves two consistent trees, and the next commit, which diffs them
// afresh, finds only what is still to do: an entry already written shows as unchanged and is
// only dropped from the layer; one not written yet is written; nothing is applied twice.
//
// The order that keeps it:
//   1. Real side, top-down, for each directory: first remove what goes (whiteouts, real
//      entries a replaced directory drops, the old entry of a type change; a subtree children
//      first); then the files, symlinks and fifos; then the subdirectories (mkdir with mode
//      0700, their entries, then the real mode and mtime). A file lands in one of two ways:
//      renamed from the layer into place (same filesystem, and its directory does not hide
//      the real one), which applies and drops it in one atomic step; or copied: a temp file
//      `.sandbox-commit.XXXXXX` next to the target (content, mode, mtime), renamed over it.
//      Whatever is not moved is still in the layer, covering the real entry being changed,
//      so the merged view does not change.
//   2. syncfs() of the home: what was written is on disk before the layer forgets it. (One
//      flush for the whole commit rather than an fsync per file: a crash before it leaves
//      the layer's copy in place, and 10,000 files commit in well under a second.)
//   3. Layer side, bottom-up: remove what was applied (files, symlinks, whiteouts), then each
//      directory once it is empty. A directory that hides the real one (opaque) first loses
//      its mark, once all of it was applied; until then its entries stay, since without them
//      the merged view would lose them.
// A temp file left by a kill before its rename is removed when commit next writes into that
// directory (and is no change to diff). Modes of layer entries commit must open up are
// journaled first (mode_journal.h). The steps themselves are in commit_steps.cc.
#include "overlay/commit.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "overlay/commit_steps.h"
#include "overlay/walk.h"

namespace sandbox::overlay {

namespace {

// The fault-injection switch for tests (commit.h): SANDBOX_FAULT_COMMIT=N.
unsigned long long fault_from_environment() {
  const char* n = std::getenv("SANDBOX_FAULT_COMMIT");
  return n && *n ? std::strtoull(n, nullptr, 10) : 0;
}

// Selects what commit applies. A directory the app added is made in the real home when
// something selected is below it; a selected entry below a directory that replaces a real
// non-directory cannot land without that replacement and is refused. Returns whether anything
// below `n` is to be applied.
bool prepare(Node& n, bool force) {
  bool any = false;
  for (Node& child : n.children) {
    bool below = prepare(child, force);
    if (below && !child.selected && child.has_change) {
      if (child.change.kind == Change::kAdded) {
        child.selected = true;
      } else if (child.change.kind == Change::kTypeChanged) {
        const std::string reason = "~/" + child.change.path + " replaces a " +
                                   type_name(child.change.lower_type) +
                                   " in the real home: commit ~/" + child.change.path + " itself";
        std::vector<Node*> stack = {&child};
        while (!stack.empty()) {
          Node* s = stack.back();
          stack.pop_back();
          for (Node& g : s->children) {
            if (g.selected && !g.change.refused) {
              g.change.refused = true;
              g.change.conflict_reason = reason;
            }
            stack.push_back(&g);
          }
        }
        below = false;
      }
    }
    child.apply_below = below;
    any |= below || should_apply(child, force);
  }
  return any;
}

void collect(const Node& n, bool force, CommitReport& r) {
  for (const Node& child : n.children) {
    if (child.has_change && child.selected) {
      const Change& c = child.change;
      if (c.refused) r.refused.push_back(c);
      else if (c.conflict && !force) r.skipped_conflicts.push_back(c);
      else if (c.kind == Change::kUnchanged) r.unchanged.push_back(c);
      else r.applied.push_back(c);
    }
    collect(child, force, r);
  }
}

void sort_by_path(std::vector<Change>& v) {
  std::sort(v.begin(), v.end(), [](const Change& a, const Change& b) { return a.path < b.path; });
}

}  // namespace

CommitReport commit_layer(const LayerPaths& paths, const std::string& home, uid_t uid,
                          const CommitOptions& options) {
  std::vector<std::string> only;
  for (const auto& p : options.only) only.push_back(normalize_relative_path(p));
  OpenedLayer layer = open_layer(paths.upper, home, uid);
  Node root = walk_layer(layer, only);
  prepare(root, options.force);

  CommitReport report;
  collect(root, options.force, report);
  for (auto* v : {&report.applied, &report.skipped_conflicts, &report.refused, &report.unchanged})
    sort_by_path(*v);
  // Entries commit will not apply stop it like conflicts do, unless forced (then they are
  // skipped and stay in the layer).
  if (!report.skipped_conflicts.empty() || (!report.refused.empty() && !options.force)) {
    report.refused_for_conflicts = true;
    report.applied.clear();
    report.unchanged.clear();
    return report;
  }
  if (options.dry_run) return report;

  ModeJournal& journal = layer.journal;
  Committer c(layer, journal, options, fault_from_environment());
  try {
    c.apply_dir(root, layer.home.get(), layer.upper.get(), false);
  } catch (const LayerError&) {
    // Drop from the layer what did land, so that the trees stay as small as they can be;
    // the first error is the one to report.
    try {
      syncfs(layer.home.get());
      c.drop_from_layer(root, layer.upper.get());
    } catch (const LayerError&) {
    }
    throw;
  }
  if (syncfs(layer.home.get()) != 0) throw LayerError(layer.home_path, errno, "cannot sync");
  c.drop_from_layer(root, layer.upper.get());
  if (!journal.empty() && fsio::list_dir(layer.upper.get(), layer.upper_path).empty()) {
    c.count_mutation();
    unlinkat(layer.root.get(), kModeJournalName, 0);
  }
  report.mutations = c.mutations();
  return report;
}

}  // namespace sandbox::overlay
