// Lexical path helpers shared by the planner and the layer code. Pure.
#pragma once

#include <string>
#include <vector>

namespace sandbox::overlay {

// The components of a path, without empty ones ("//") and "."; ".." is kept for the caller
// to refuse or resolve: "/a//b/./../c/" -> {"a", "b", "..", "c"}.
std::vector<std::string> path_components(const std::string& path);

// Components joined with '/' (no leading slash).
std::string join_components(const std::vector<std::string>& parts);

}  // namespace sandbox::overlay
