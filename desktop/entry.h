// Desktop entries (https://specifications.freedesktop.org/desktop-entry-spec/latest/): finding
// an app's system entry, and the wrapper that runs it in its sandbox instead.
//
// A wrapper is a copy of the system entry, written to $XDG_DATA_HOME/applications. Under the
// same desktop file id it shadows the system entry (menus show the first file of an id along
// $XDG_DATA_HOME, $XDG_DATA_DIRS); under another id ("sandbox-ID", --alongside) it sits next to
// it as "NAME (sandboxed)". Its Exec lines, of the entry and of every action, go through
// `sandbox APP` (desktop/exec.h); its [Desktop Entry] carries X-Sandbox-App=APP, which is how
// `remove` and `list` tell our files from anyone else's.
//
// Entries are read and written with GLib's GKeyFile, keeping comments, translations and every
// key we do not change.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "desktop/exec.h"

namespace sandbox::desktop {

constexpr const char* kAppKey = "X-Sandbox-App";        // APP
constexpr const char* kSourceKey = "X-Sandbox-Source";  // the system entry's path
constexpr const char* kAlongsidePrefix = "sandbox-";    // the id of an --alongside wrapper
constexpr const char* kSandboxedSuffix = " (sandboxed)";

// DIR/applications for each DIR of $XDG_DATA_DIRS (its value; "" means the spec's default
// /usr/local/share:/usr/share). Relative entries are ignored, as the XDG spec says.
std::vector<std::string> applications_dirs(const std::string& xdg_data_dirs);

struct SystemEntry {
  std::string id;  // desktop file id: the path below applications/, '/' turned into '-'
  std::string path;
};

// Every *.desktop file below the dirs, the first one of each id (earlier dirs win), sorted by
// id. Unreadable directories are skipped.
std::vector<SystemEntry> list_entries(const std::vector<std::string>& dirs);

// The entry of id `id`, if any.
std::optional<SystemEntry> find_entry_by_id(const std::vector<std::string>& dirs,
                                            const std::string& id);

// The application entries (Type=Application, not Hidden, not a wrapper of ours) whose Exec
// program (after an `env NAME=VALUE...` prefix) has the basename of one of `programs`.
// Entries that cannot be read are skipped.
std::vector<SystemEntry> find_entries_by_program(const std::vector<std::string>& dirs,
                                                 const std::vector<std::string>& programs);

// The id a wrapper of `entry` gets.
std::string wrapper_id(const SystemEntry& entry, bool alongside);

// The text of the wrapper of `entry` for `launch.app`. Throws DesktopError when the entry
// cannot be read, is not an application, is Hidden, has no Exec, or is a wrapper itself.
std::string make_wrapper(const SystemEntry& entry, const SandboxLaunch& launch, bool alongside);

// What a file in the wrappers' directory is, as far as we are concerned.
struct Wrapper {
  std::string path;
  std::string id;
  std::string app;     // X-Sandbox-App
  std::string source;  // X-Sandbox-Source ("" when missing)
};

// The file's X-Sandbox-App, or nullopt when it is not a wrapper of ours (or unreadable).
std::optional<Wrapper> read_wrapper(const std::string& path);

// Our wrappers among the *.desktop files directly in `dir`, sorted by id.
std::vector<Wrapper> list_wrappers(const std::string& dir);

// Writes `text` to `path` atomically (a temporary file in the same directory, then rename) with
// mode 0644, creating the directory (mode 0700, as the XDG base directory spec says) when
// missing. Throws DesktopError.
void write_file_atomically(const std::string& path, const std::string& text);

// Runs `update-desktop-database -q DIR` when the program is on $PATH, so the MIME cache sees
// the wrappers. Its failure is ignored (menus work without the cache). Returns whether it ran.
bool refresh_desktop_database(const std::string& dir);

}  // namespace sandbox::desktop
