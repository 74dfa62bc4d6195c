// `sandbox desktop install APP [--alongside] | remove APP | list`: the command-line side of
// desktop/entry.h. Exit status 0, or 125 with one message on error (no profile APP, no entry
// found, a file in the way that is not ours, a write that failed).
//
// install: the entries of APP are the profile's `desktop_entry` (a desktop file id), else the
//          application entries in $XDG_DATA_DIRS/applications whose Exec runs the profile's
//          command[0] or APP (by basename): all of them, so that no menu entry of the app
//          starts it unsandboxed. Each gets a wrapper in $XDG_DATA_HOME/applications, under
//          the same id (shadowing it) or, with --alongside, as sandbox-ID. A wrapper of the
//          same APP is replaced; any other file of that name is left alone and is an error.
// remove:  deletes the files there that carry X-Sandbox-App=APP, and nothing else.
// list:    our wrappers there: file, app, and the entry each shadows or sits next to.
// install and remove then run update-desktop-database on the directory, when it is installed.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "launcher/host_facts.h"

namespace sandbox::launcher {

struct DesktopOptions {
  bool alongside = false;        // install --alongside
  bool dry_run = false;          // install -n: print the wrappers instead of writing them
  std::string sandbox_exe;       // what the wrappers run; "" = this binary (/proc/self/exe)
  bool refresh_database = true;  // run update-desktop-database after a change
};

// Where the command writes; tests pass their own streams.
struct DesktopIo {
  std::FILE* out = stdout;
  std::FILE* err = stderr;
};

// `args` is what follows `desktop` on the command line: {"install", APP}, {"remove", APP},
// {"list"}.
int run_desktop(const HostFacts& host, const std::vector<std::string>& args,
                const DesktopOptions& options = {}, const DesktopIo& io = {});

}  // namespace sandbox::launcher
