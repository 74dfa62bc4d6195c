#include "desktop/exec.h"

#include <glib.h>

#include <memory>
#include <string_view>

namespace sandbox::desktop {

namespace {

// Characters the spec reserves: a word holding one must be quoted.
constexpr std::string_view kReserved = " \t\n\"'\\><~|&;$*?#()`";
// Characters that must be escaped by a backslash inside double quotes.
constexpr std::string_view kEscapedInQuotes = "\"`$\\";

bool is_env_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    const bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool is_assignment(const std::string& word) {
  const size_t eq = word.find('=');
  return eq != std::string::npos && is_env_name(std::string_view(word).substr(0, eq));
}

// The words of `env A=1 B=2 prog args`: where the assignments are and where the program is.
// `env` with options (-i, -u NAME, ...) is not a prefix we can move: it stays the program.
struct EnvPrefix {
  std::vector<std::string> assignments;
  size_t program = 0;  // index of the program word
};

EnvPrefix env_prefix(const std::vector<std::string>& words) {
  EnvPrefix p;
  if (words.empty() || base_name(words[0]) != "env") return p;
  size_t i = 1;
  while (i < words.size() && is_assignment(words[i])) ++i;
  if (i >= words.size() || words[i].empty() || words[i][0] == '-') return p;
  p.assignments.assign(words.begin() + 1, words.begin() + static_cast<long>(i));
  p.program = i;
  return p;
}

}  // namespace

std::string base_name(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool is_field_code(const std::string& word) {
  return word.size() == 2 && word[0] == '%' &&
         std::string_view("fFuUick").find(word[1]) != std::string_view::npos;
}

bool is_deprecated_field_code(const std::string& word) {
  return word.size() == 2 && word[0] == '%' &&
         std::string_view("dDnNvm").find(word[1]) != std::string_view::npos;
}

std::vector<std::string> split_exec(const std::string& exec, const std::string& where) {
  gint argc = 0;
  gchar** argv = nullptr;
  GError* error = nullptr;
  if (!g_shell_parse_argv(exec.c_str(), &argc, &argv, &error)) {
    const std::string why = error ? error->message : "cannot be split into words";
    g_clear_error(&error);
    throw DesktopError(where + ": '" + exec + "': " + why);
  }
  std::unique_ptr<gchar*, void (*)(gchar**)> owned(argv, g_strfreev);
  return std::vector<std::string>(argv, argv + argc);
}

std::string quote_exec_word(const std::string& word) {
  if (is_field_code(word)) return word;
  if (!word.empty() && word.find_first_of(kReserved) == std::string::npos) return word;
  std::string out = "\"";
  for (char c : word) {
    if (kEscapedInQuotes.find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string join_exec(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    out += quote_exec_word(w);
  }
  return out;
}

std::string exec_program(const std::vector<std::string>& words) {
  if (words.empty()) return {};
  return words[env_prefix(words).program];
}

std::vector<std::string> sandboxed_exec(const std::vector<std::string>& words,
                                        const SandboxLaunch& launch) {
  const EnvPrefix prefix = env_prefix(words);
  std::vector<std::string> rest;  // the program and its arguments
  for (size_t i = prefix.program; i < words.size(); ++i)
    if (!is_deprecated_field_code(words[i])) rest.push_back(words[i]);

  std::vector<std::string> env_options;
  for (const auto& a : prefix.assignments) {
    env_options.push_back("--env");
    env_options.push_back(a);
  }
  std::vector<std::string> out = {launch.sandbox};
  const bool is_app_program = !rest.empty() && base_name(rest[0]) == base_name(launch.app_program);
  if (is_app_program) {
    // `sandbox APP ARGS` runs the profile's command with ARGS appended (sandbox(1)).
    out.insert(out.end(), env_options.begin(), env_options.end());
    if (launch.app_is_subcommand) out.push_back("--");  // `sandbox -- run` is the app "run"
    out.push_back(launch.app);
    out.insert(out.end(), rest.begin() + 1, rest.end());
  } else {
    out.insert(out.end(), {"run", "-p", launch.app, "--name", launch.app});
    out.insert(out.end(), env_options.begin(), env_options.end());
    out.push_back("--");
    out.insert(out.end(), rest.begin(), rest.end());
  }
  return out;
}

}  // namespace sandbox::desktop
