#include "launcher/layer_commands.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "launcher/error.h"
#include "launcher/instance.h"
#include "overlay/paths.h"
#include "overlay/changes.h"
#include "overlay/commit.h"
#include "overlay/format.h"
#include "overlay/layer.h"
#include "overlay/reset.h"

namespace sandbox::launcher {

namespace {

constexpr int kOk = 0;
constexpr int kRefused = 1;
constexpr int kFailed = 125;
constexpr size_t kListBeforeAsking = 20;

void print(std::FILE* f, const std::string& s) { std::fputs(s.c_str(), f); }

std::string describe(const overlay::LayerError& e) {
  std::string s = "sandbox: " + e.path() + ": " + e.what();
  if (e.err() != 0) s += std::string(" (") + std::strerror(e.err()) + ")";
  return s + "\n";
}

// The parts common to the three commands: a valid app, its layer, the paths.
struct Target {
  overlay::LayerPaths layer;
  std::vector<std::string> paths;
  bool exists = false;
};

std::optional<Target> resolve(const HostFacts& host, const LayerCommandArgs& args,
                              const CommandIo& io) {
  if (!overlay::valid_app_name(args.app)) {
    print(io.err, "sandbox: '" + args.app +
                      "' is not a valid app name (letters, digits, '.', '_', '-'; not starting "
                      "with '.')\n");
    return std::nullopt;
  }
  Target t;
  t.layer = overlay::layer_paths(sandbox_state_dir(host), args.app);
  try {
    for (const auto& p : args.paths) t.paths.push_back(home_relative_path(p, host));
  } catch (const std::invalid_argument& e) {
    print(io.err, std::string("sandbox: ") + e.what() + "\n");
    return std::nullopt;
  }
  struct stat st;
  t.exists = lstat(t.layer.root.c_str(), &st) == 0;
  return t;
}

// The layer must not change under us: a launch takes the layer's lock to mount it.
struct Exclusive {
  std::optional<Fd> lock;
  std::string refusal;  // why we cannot have it
};

Exclusive hold_layer(const HostFacts& host, const LayerCommandArgs& args, const Target& t,
                     const char* verb) {
  Exclusive x;
  const std::string why = "sandbox: " + args.app + " is running; quit it before you " + verb +
                          " its layer (see `sandbox ps`)\n";
  if (app_is_running(host, args.app)) {
    x.refusal = why;
    return x;
  }
  x.lock = try_lock_layer(t.layer.root);
  if (!x.lock) x.refusal = why;
  return x;
}

std::string count_text(size_t n) { return std::to_string(n) + (n == 1 ? " change" : " changes"); }

std::string lines(const std::vector<overlay::Change>& changes) {
  std::string out;
  for (const auto& c : changes) out += "  " + overlay::format_change(c);
  return out;
}

bool answered_yes(std::FILE* in) {
  char buf[64];
  if (!std::fgets(buf, sizeof(buf), in)) return false;
  std::string a(buf);
  while (!a.empty() && (a.back() == '\n' || a.back() == '\r' || a.back() == ' ')) a.pop_back();
  return a == "y" || a == "Y" || a == "yes" || a == "YES" || a == "Yes";
}

}  // namespace

std::string home_relative_path(const std::string& arg, const HostFacts& host) {
  std::string rest;
  bool found = false;
  if (arg == "~" || arg.rfind("~/", 0) == 0) {
    rest = arg.substr(1);
    found = true;
  } else if (!arg.empty() && arg[0] == '/') {
    // Either spelling of the home: the canonical one, or $HOME as typed (maybe via a symlink).
    for (const std::string& home : {host.home, host.getenv("HOME")}) {
      if (home.empty() || home == "/") continue;
      std::string h = home;
      while (h.size() > 1 && h.back() == '/') h.pop_back();
      if (arg == h || arg.rfind(h + "/", 0) == 0) {
        rest = arg.substr(h.size());
        found = true;
        break;
      }
    }
    if (!found)
      throw std::invalid_argument(arg + " is outside the home (" + host.home +
                                  "); layer paths are in the home");
  } else {
    rest = arg;
  }
  // Lexically: "a/./b" is "a/b", "a/../b" is "b"; nothing may climb out of the home.
  std::vector<std::string> parts;
  for (const auto& part : overlay::path_components(rest)) {
    if (part != "..") {
      parts.push_back(part);
    } else if (parts.empty()) {
      throw std::invalid_argument(arg + " is outside the home (" + host.home + ")");
    } else {
      parts.pop_back();
    }
  }
  return overlay::join_components(parts);
}

int run_diff(const HostFacts& host, const LayerCommandArgs& args, const CommandIo& io) {
  const auto t = resolve(host, args, io);
  if (!t) return kFailed;
  std::vector<overlay::Change> changes;
  if (!t->exists) {
    print(io.err, "sandbox: no layer for " + args.app + " (nothing to diff)\n");
  } else {
    try {
      changes = overlay::diff_layer(t->layer.upper, host.home, t->paths);
    } catch (const overlay::LayerError& e) {
      print(io.err, describe(e));
      return kFailed;
    }
  }
  if (args.json) {
    print(io.out, overlay::format_json(changes));
    return kOk;
  }
  const std::string text =
      overlay::format_diff(changes, args.stat ? overlay::DiffStyle::kStat : overlay::DiffStyle::kPlain);
  if (overlay::count_visible(changes) == 0 && !args.stat) {
    print(io.out, "no changes\n");
    return kOk;
  }
  print(io.out, text.empty() ? "no changes\n" : text);
  return kOk;
}

int run_commit(const HostFacts& host, const LayerCommandArgs& args, const CommandIo& io) {
  const auto t = resolve(host, args, io);
  if (!t) return kFailed;
  if (!t->exists) {
    print(io.err, "sandbox: no layer for " + args.app + " (nothing to commit)\n");
    return kOk;
  }
  try {
    Exclusive hold;
    if (!args.dry_run) {
      hold = hold_layer(host, args, *t, "commit");
      if (!hold.refusal.empty()) {
        print(io.err, hold.refusal);
        return kFailed;
      }
    }
    overlay::CommitOptions opts;
    opts.only = t->paths;
    opts.force = args.force;
    opts.dry_run = args.dry_run;
    const overlay::CommitReport r = overlay::commit_layer(t->layer, host.home, host.uid, opts);
    if (r.refused_for_conflicts) {
      std::string msg = "sandbox: " + std::string(args.dry_run ? "would not commit" : "not committing") +
                        " anything of " + args.app + ":\n";
      if (!r.skipped_conflicts.empty())
        msg += std::to_string(r.skipped_conflicts.size()) +
               " conflict(s): the real home changed after the app made its version:\n" +
               lines(r.skipped_conflicts);
      if (!r.refused.empty())
        msg += std::to_string(r.refused.size()) + " entr" + (r.refused.size() == 1 ? "y" : "ies") +
               " commit never applies:\n" + lines(r.refused);
      msg += "Review them with `sandbox diff " + args.app + "`; `sandbox commit --force " +
             args.app + "` applies the layer's version of the conflicts" +
             (r.refused.empty() ? "" : " and leaves the rest in the layer") +
             "; `sandbox reset " + args.app + " PATH` drops an entry from the layer.\n";
      print(io.err, msg);
      return kRefused;
    }
    if (r.applied.empty() && r.unchanged.empty() && r.refused.empty()) {
      print(io.out, "nothing to commit\n");
      return kOk;
    }
    if (!r.applied.empty())
      print(io.out, std::string(args.dry_run ? "Would commit " : "Committed ") +
                        count_text(r.applied.size()) + " of " + args.app + " to " + host.home +
                        ":\n" + lines(r.applied));
    if (!r.unchanged.empty())
      print(io.out, std::to_string(r.unchanged.size()) + " entr" +
                        (r.unchanged.size() == 1 ? "y" : "ies") +
                        " of the layer already matched the real home" +
                        (args.dry_run ? " (would be dropped from the layer)\n" : " (dropped from the layer)\n"));
    if (!r.refused.empty())
      print(io.err, "sandbox: left in the layer, never committed:\n" + lines(r.refused));
    return kOk;
  } catch (const overlay::LayerError& e) {
    print(io.err, describe(e) + "sandbox: what was committed so far is in place and out of the "
                                "layer; run the commit again to finish it\n");
    return kFailed;
  } catch (const SetupError& e) {
    print(io.err, e.format() + "\n");
    return kFailed;
  }
}

int run_reset(const HostFacts& host, const LayerCommandArgs& args, const CommandIo& io) {
  const auto t = resolve(host, args, io);
  if (!t) return kFailed;
  if (!t->exists) {
    print(io.err, "sandbox: no layer for " + args.app + " (nothing to reset)\n");
    return kOk;
  }
  try {
    Exclusive hold;
    if (!args.dry_run) {
      hold = hold_layer(host, args, *t, "reset");
      if (!hold.refusal.empty()) {
        print(io.err, hold.refusal);
        return kFailed;
      }
    }
    const overlay::ResetReport plan = overlay::reset_layer(t->layer, t->paths, true);
    for (const auto& note : plan.notes) print(io.err, "sandbox: " + note + "\n");
    if (plan.dropped.empty()) {
      print(io.out, "nothing to reset\n");
      return kOk;
    }
    // What the person loses, in the words of diff; a layer diff cannot read is still dropped.
    std::vector<overlay::Change> changes;
    try {
      changes = overlay::diff_layer(t->layer.upper, host.home, t->paths);
    } catch (const overlay::LayerError& e) {
      print(io.err, describe(e));
    }
    std::vector<overlay::Change> visible;
    for (const auto& c : changes)
      if (c.kind != overlay::Change::kUnchanged) visible.push_back(c);
    const std::string what = visible.empty() ? std::to_string(plan.dropped.size()) + " layer entr" +
                                                   (plan.dropped.size() == 1 ? "y" : "ies")
                                             : count_text(visible.size());
    if (args.dry_run) {
      print(io.out, "Would drop " + what + " of " + args.app + ":\n" +
                        (visible.empty() ? std::string() : lines(visible)));
      return kOk;
    }
    if (!args.yes && !visible.empty()) {
      const bool ask = io.interactive >= 0 ? io.interactive == 1 : isatty(fileno(io.in)) == 1;
      if (!ask) {
        print(io.err, "sandbox: reset drops " + what + " of " + args.app +
                          " for good; pass -y to confirm (there is no terminal to ask on)\n");
        return kFailed;
      }
      std::string shown;
      for (size_t i = 0; i < visible.size() && i < kListBeforeAsking; ++i)
        shown += "  " + overlay::format_change(visible[i]);
      if (visible.size() > kListBeforeAsking)
        shown += "  ... and " + std::to_string(visible.size() - kListBeforeAsking) + " more\n";
      print(io.err, shown + "Drop " + what + " of " + args.app + "? [y/N] ");
      std::fflush(io.err);
      if (!answered_yes(io.in)) {
        print(io.err, "sandbox: nothing dropped\n");
        return kRefused;
      }
    }
    overlay::reset_layer(t->layer, t->paths, false);
    print(io.out, "Dropped " + what + " of " + args.app + "\n");
    return kOk;
  } catch (const overlay::LayerError& e) {
    print(io.err, describe(e));
    return kFailed;
  } catch (const SetupError& e) {
    print(io.err, e.format() + "\n");
    return kFailed;
  }
}

}  // namespace sandbox::launcher
