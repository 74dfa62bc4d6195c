// `sandbox explain`: what a sandbox can and cannot reach, in plain words or as JSON. Pure.
#pragma once

#include <string>
#include <vector>

#include "launcher/spec.h"

namespace sandbox::launcher {

std::string explain_text(const SandboxSpec& spec);
std::string explain_json(const SandboxSpec& spec);
// `--dry-run`: the resolved spec, step by step, as the child will apply it.
std::string dry_run_text(const SandboxSpec& spec);

std::string json_quote(const std::string& s);
// ["a", "b"]: each element quoted with json_quote.
std::string json_list(const std::vector<std::string>& items);

}  // namespace sandbox::launcher
