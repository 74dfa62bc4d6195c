// The steps of a commit (commit.cc says in which order, and why that order survives being
// killed at any point): the real side (apply_dir) and the layer side (drop_from_layer) of a
// walked tree. Internal to overlay/.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "overlay/commit.h"
#include "overlay/mode_journal.h"
#include "overlay/walk.h"

namespace sandbox::overlay {

// Every change to either tree is announced here first: it counts them and, for tests, kills
// the process with SIGKILL right before the N-th (commit.cc reads N from SANDBOX_FAULT_COMMIT).
class Mutations {
 public:
  explicit Mutations(unsigned long long fault_at) : fault_at_(fault_at) {}
  void next();
  size_t count() const { return count_; }

 private:
  unsigned long long fault_at_ = 0;
  size_t count_ = 0;
};

// Whether commit applies this node's change.
bool should_apply(const Node& n, bool force);

class Committer {
 public:
  Committer(const OpenedLayer& layer, ModeJournal& journal, const CommitOptions& opts,
            unsigned long long fault_at)
      : layer_(layer), journal_(journal), opts_(opts), mut_(fault_at) {}

  void apply_dir(Node& dir, int real_fd, int upper_fd, bool self);
  // `hidden`: the real directory does not show through `dir` (it or an ancestor is still
  // opaque), so the layer's entries in it stay even when applied.
  void drop_from_layer(Node& dir, int upper_fd, bool hidden = false);
  size_t mutations() const { return mut_.count(); }
  void count_mutation() { mut_.next(); }

 private:
  std::string real_path(const std::string& rel) const { return layer_.home_path + "/" + rel; }
  std::string upper_path(const std::string& rel) const {
    return rel.empty() ? layer_.upper_path : layer_.upper_path + "/" + rel;
  }
  void remove_leftover_temps(int real_fd, const std::string& rel);
  void remove_real(int real_fd, const Node& n);
  void remove_real_tree(int parent_fd, const std::string& name, const std::string& rel);
  void place(Node& n, const Node& parent, int real_fd, int upper_fd);
  bool move_into_place(Node& n, const Node& parent, int real_fd, int upper_fd);
  void make_temp(Node& n, int real_fd, int upper_fd, const std::string& tmp);
  void copy_file(Node& n, int real_fd, int upper_fd, const std::string& tmp);
  void finish_dir(Node& n, int real_fd);
  void make_layer_entry_accessible(int fd, const std::string& rel, mode_t need);
  void remove_opaque_marker(const Node& n, int ufd);

  const OpenedLayer& layer_;
  ModeJournal& journal_;
  const CommitOptions& opts_;
  Mutations mut_;
};

}  // namespace sandbox::overlay
