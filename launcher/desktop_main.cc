// sandbox-desktop: `sandbox desktop ...`, in a binary of its own so that GLib (GKeyFile) is
// loaded for menu entries only, never at a sandbox's launch. `sandbox` execs it with its own
// argv and its own path in SANDBOX_LAUNCHER (what the wrappers' Exec lines run).
#include <cstdio>
#include <cstdlib>

#include "launcher/cli.h"
#include "launcher/desktop_commands.h"
#include "launcher/host_facts.h"

int main(int argc, char** argv) {
  using namespace sandbox::launcher;
  std::vector<std::string> args(argv, argv + argc);
  args[0] = "sandbox";
  Invocation inv;
  try {
    inv = parse_cli(args);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "sandbox: %s\nTry 'sandbox --help'.\n", e.what());
    return 125;
  }
  if (inv.command != Command::kDesktop) {
    std::fprintf(stderr, "sandbox-desktop: run it as `sandbox desktop ...`\n");
    return 125;
  }
  DesktopOptions options;
  options.alongside = inv.alongside;
  options.dry_run = inv.dry_run;
  if (const char* launcher = std::getenv("SANDBOX_LAUNCHER")) options.sandbox_exe = launcher;
  return run_desktop(gather_host_facts(), inv.args, options);
}
