// sandbox: argv -> Invocation -> (profile, host facts) -> SandboxSpec -> run.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "launcher/cli.h"
#include "launcher/explain.h"
#include "launcher/host_facts.h"
#include "launcher/plan.h"
#include "launcher/run.h"
#include "profiles/profile.h"

#ifndef SANDBOX_VERSION
#define SANDBOX_VERSION "0.0.0"
#endif

namespace {

using namespace sandbox;
using namespace sandbox::launcher;

constexpr int kLauncherFailed = 125;

int list_profiles(const profiles::Loader& loader) {
  for (const auto& p : loader.list()) {
    std::printf("%-16s %s\n", p.name.c_str(), p.description.c_str());
    std::printf("%-16s   %s\n", "", p.file.c_str());
    for (const auto& s : p.shadowed) std::printf("%-16s   (shadows %s)\n", "", s.c_str());
  }
  return 0;
}

int check_profiles(const profiles::Loader& loader, const std::vector<std::string>& files) {
  int rc = 0;
  for (const auto& f : files) {
    try {
      const profiles::Profile p = loader.load(f);
      std::printf("%s: ok (profile %s)\n", p.file.c_str(), p.name.c_str());
    } catch (const profiles::ProfileError& e) {
      std::fprintf(stderr, "%s\n", e.what());
      rc = kLauncherFailed;
    }
  }
  return rc;
}

int run(const Invocation& inv) {
  const HostFacts host = gather_host_facts();
  const profiles::Loader loader(
      profiles::default_search_dirs(host.xdg_config_home, host.home, host.share_dir));
  switch (inv.command) {
    case Command::kHelp:
      std::fputs(help_text().c_str(), stdout);
      return 0;
    case Command::kVersion:
      std::printf("sandbox %s\n", SANDBOX_VERSION);
      return 0;
    case Command::kProfiles:
      return list_profiles(loader);
    case Command::kCheck:
      return check_profiles(loader, inv.args);
    case Command::kExplain:
    case Command::kRun:
    case Command::kRunApp:
      break;
  }
  const ProfileChoice choice =
      choose_profile(inv, [&](const std::string& name) { return loader.find(name).has_value(); });
  if (choice.fell_back_to_default && inv.command == Command::kRunApp)
    std::fprintf(stderr, "sandbox: no profile named '%s'; running it under profile 'default'\n",
                 inv.app.c_str());
  const profiles::Profile profile = loader.load(choice.profile);
  const SandboxSpec spec = build_spec(inv, choice, profile, host);
  if (inv.command == Command::kExplain) {
    std::fputs((inv.json ? explain_json(spec) : explain_text(spec)).c_str(), stdout);
    return 0;
  }
  if (inv.dry_run) {
    std::fputs((inv.json ? explain_json(spec) : dry_run_text(spec)).c_str(), stdout);
    return 0;
  }
  return run_sandbox(spec);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  Invocation inv;
  try {
    inv = parse_cli(args);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "sandbox: %s\nTry 'sandbox --help'.\n", e.what());
    return kLauncherFailed;
  }
  if (inv.command == Command::kHelp && argc < 2) {
    std::fputs(help_text().c_str(), stderr);
    return kLauncherFailed;
  }
  try {
    return run(inv);
  } catch (const profiles::ProfileError& e) {
    std::fprintf(stderr, "sandbox: %s\n", e.what());
  } catch (const PlanError& e) {
    std::fprintf(stderr, "sandbox: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sandbox: %s\n", e.what());
  }
  return kLauncherFailed;
}
