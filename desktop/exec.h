// The Exec line of a desktop entry: splitting it into words, and writing words back quoted as
// the Desktop Entry spec asks ("The Exec key", in
// https://specifications.freedesktop.org/desktop-entry-spec/latest/exec-variables.html).
// Pure functions; the values here are Exec values after the key file's own unescaping
// (g_key_file_get_string), i.e. the "second level" of the spec's two levels of escaping.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace sandbox::desktop {

// Every problem with an entry: unreadable, malformed, not an application, a clash with a
// file we did not write. what() names the file (and the key) at fault.
class DesktopError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Splits an Exec value into words the way GLib's launcher does (g_shell_parse_argv: double
// quotes with \" \` \$ \\ escapes as the spec says, plus the single quotes many entries use
// though the spec does not allow them). Field codes stay in the words as written ("%U",
// "100%%"). Throws DesktopError, with `where` ("FILE: Exec") in the message.
std::vector<std::string> split_exec(const std::string& exec, const std::string& where);

// One word as the spec wants it written: bare when it holds none of the reserved characters
// (space, tab, newline, " ' \ > < ~ | & ; $ * ? # ( ) `), else in double quotes with
// " ` $ \ escaped by a backslash. A word that is a field code ("%f") is never quoted.
std::string quote_exec_word(const std::string& word);

// The words quoted and joined by single spaces.
std::string join_exec(const std::vector<std::string>& words);

// %f %F %u %U %i %c %k: the field codes a launcher expands.
bool is_field_code(const std::string& word);
// %d %D %n %N %v %m: deprecated; the spec says to remove them from the command line.
bool is_deprecated_field_code(const std::string& word);

// How a wrapper starts things in APP's sandbox.
struct SandboxLaunch {
  std::string sandbox;             // absolute path of the sandbox binary
  std::string app;                 // APP: the profile's name and the app name (its layer)
  std::string app_program;         // what `sandbox APP` runs: the profile's command[0], else APP
  bool app_is_subcommand = false;  // APP is one of sandbox's subcommand words ("run", ...)
};

// The command an Exec line becomes. `env NAME=VALUE... PROG ARGS` (an env prefix, as entries
// use for a variable the app needs) becomes `--env NAME=VALUE` options, so the variables reach
// the app inside the sandbox rather than only the launcher (which passes on only what the
// profile keeps). Then:
//   PROG is the app's program (same basename): sandbox [--env ...] APP ARGS
//   anything else:                              sandbox run -p APP --name APP [--env ...] -- PROG
//   ARGS
// so the second form runs in APP's profile and layer too. Deprecated field codes are dropped.
std::vector<std::string> sandboxed_exec(const std::vector<std::string>& words,
                                        const SandboxLaunch& launch);

// The program an Exec line runs (its first word, after an `env NAME=VALUE...` prefix).
std::string exec_program(const std::vector<std::string>& words);

// "/usr/bin/firefox-esr" -> "firefox-esr".
std::string base_name(const std::string& path);

}  // namespace sandbox::desktop
