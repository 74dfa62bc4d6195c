// Finding profile files on the search path, reading them, resolving `extends`, listing.
// Only ProfileError leaves this file: filesystem calls use their error_code forms.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include "common/unique_fd.h"
#include "profiles/parse_cache.h"
#include "profiles/profile.h"

namespace sandbox::profiles {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxExtendsDepth = 16;     // files in one `extends` chain
constexpr size_t kMaxFileSize = 1 << 20;  // a profile is a page of YAML, not a data file

constexpr const char* kNameRule =
    "letters, digits, '.', '_' and '-', not starting with '.'";

using Fd = sandbox::UniqueFd;

// DESIGN.md: "a value containing `/` or ending in `.yaml`" is a path, anything else a name.
bool looks_like_path(const std::string& value) {
  return value.find('/') != std::string::npos ||
         (value.size() >= 5 && value.compare(value.size() - 5, 5, ".yaml") == 0);
}

std::string join(const std::vector<std::string>& items) {
  if (items.empty()) return "no directories";
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

// The identity of a file for cycle detection: symlinks and "./" must not hide a cycle.
std::string identity(const std::string& path) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(path, ec);
  if (ec) canonical = fs::absolute(path, ec).lexically_normal();
  return canonical.string();
}

std::string read_profile_file(const std::string& path, const SourcePos& at) {
  const auto fail = [&](const std::string& reason) -> ProfileError {
    return ProfileError(at, "cannot read " + path + ": " + reason);
  };
  // O_NONBLOCK so that a FIFO named like a profile cannot hang the launcher; the fstat
  // below refuses it anyway.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) throw fail(std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw fail(std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw fail(std::strerror(EISDIR));
  if (!S_ISREG(st.st_mode)) throw fail("not a regular file");
  if (static_cast<size_t>(st.st_size) > kMaxFileSize) throw fail("larger than 1 MiB");
  std::string text;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw fail(std::strerror(errno));
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxFileSize) throw fail("larger than 1 MiB");
  }
  return text;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

Loader::Loader(std::vector<std::string> search_dirs) : dirs_(std::move(search_dirs)) {}

Profile Loader::load(const std::string& name_or_path) const {
  if (looks_like_path(name_or_path)) return load_file(name_or_path);
  if (!is_valid_profile_name(name_or_path)) {
    throw ProfileError({name_or_path, 0, 0},
                       "'" + name_or_path + "' is not a valid profile name (" + kNameRule + ")");
  }
  const std::optional<std::string> file = find(name_or_path);
  if (!file) {
    throw ProfileError({name_or_path, 0, 0}, "no profile named '" + name_or_path +
                                                 "' (searched: " + join(dirs_) + ")");
  }
  return load_file(*file);
}

Profile Loader::load_file(const std::string& path) const {
  std::vector<std::string> stack;
  return load_file_depth(path, stack, SourcePos{});
}

std::optional<std::string> Loader::find(const std::string& name) const {
  if (!is_valid_profile_name(name)) return std::nullopt;
  for (const std::string& dir : dirs_) {
    const std::string file = (fs::path(dir) / (name + ".yaml")).string();
    if (exists(file)) return file;  // even a directory: loading it then says what is wrong
  }
  return std::nullopt;
}

// `stack` holds the identities of the files being loaded, outermost first; `from` is the
// `extends` entry that named `path` (line 0 for the file the caller asked for).
Profile Loader::load_file_depth(const std::string& path, std::vector<std::string>& stack,
                                const SourcePos& from) const {
  const SourcePos at = from.line != 0 ? from : SourcePos{path, 0, 0};
  const std::string id = identity(path);
  const auto seen = std::find(stack.begin(), stack.end(), id);
  if (seen != stack.end()) {
    std::string chain;
    for (auto it = seen; it != stack.end(); ++it) {
      chain += fs::path(*it).filename().string() + " -> ";
    }
    throw ProfileError(at, "extends cycle: " + chain + fs::path(id).filename().string());
  }
  if (stack.size() >= kMaxExtendsDepth) {
    throw ProfileError(at, "extends: more than " + std::to_string(kMaxExtendsDepth) +
                               " levels of profiles");
  }

  const std::string text = read_profile_file(path, at);
  std::optional<ParsedFile> cached = cache_ ? cache_->find(path, text) : std::nullopt;
  if (!cached) {
    cached = parse_profile_text(text, path);
    if (cache_) cache_->store(path, text, *cached);
  }
  ParsedFile& parsed = *cached;
  stack.push_back(id);
  const fs::path dir = fs::path(path).parent_path();
  std::optional<Profile> bases;
  for (const auto& [value, pos] : parsed.extends_names) {
    std::string base_file;
    if (looks_like_path(value)) {
      // Relative to the file that names it, so a set of profiles can be moved together.
      fs::path p(value.rfind("./", 0) == 0 ? value.substr(2) : value);
      base_file = (p.is_absolute() || dir.empty() ? p : dir / p).string();
    } else {
      if (!is_valid_profile_name(value)) {
        throw ProfileError(pos, "extends: '" + value + "' is not a valid profile name (" +
                                    kNameRule + ")");
      }
      // First hit on the search path, skipping files already being loaded: a user's
      // ~/.config/.../firefox.yaml may say `extends: firefox` to build on the shipped one.
      // When every hit is on the stack, the first is taken and reported as a cycle.
      for (const std::string& search_dir : dirs_) {
        const std::string candidate = (fs::path(search_dir) / (value + ".yaml")).string();
        if (!exists(candidate)) continue;
        if (base_file.empty()) base_file = candidate;
        if (std::find(stack.begin(), stack.end(), identity(candidate)) == stack.end()) {
          base_file = candidate;
          break;
        }
      }
      if (base_file.empty()) {
        throw ProfileError(pos, "extends: no profile named '" + value + "' (searched: " +
                                    join(dirs_) + ")");
      }
    }
    Profile base = load_file_depth(base_file, stack, pos);
    bases = bases ? merge(*bases, base) : std::move(base);
  }
  stack.pop_back();
  return bases ? merge(*bases, parsed.profile) : parsed.profile;
}

std::vector<ProfileListing> Loader::list() const {
  std::map<std::string, ProfileListing> by_name;  // sorted by name
  for (const std::string& dir : dirs_) {
    std::vector<std::string> files;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string file_name = it->path().filename().string();
      if (file_name.size() <= 5 || file_name.compare(file_name.size() - 5, 5, ".yaml") != 0) {
        continue;
      }
      std::error_code status_ec;
      if (!it->is_regular_file(status_ec)) continue;  // follows symlinks, as load() does
      files.push_back(file_name);
    }
    std::sort(files.begin(), files.end());
    for (const std::string& file_name : files) {
      const std::string name = file_name.substr(0, file_name.size() - 5);
      if (!is_valid_profile_name(name)) continue;  // load(name) could not reach it
      const std::string file = (fs::path(dir) / file_name).string();
      auto [it, inserted] = by_name.try_emplace(name);
      if (inserted) {
        it->second.name = name;
        it->second.file = file;
      } else {
        it->second.shadowed.push_back(file);
      }
    }
  }

  std::vector<ProfileListing> out;
  out.reserve(by_name.size());
  for (auto& [name, listing] : by_name) {
    try {
      listing.description = load_file(listing.file).description;
    } catch (const ProfileError& e) {
      listing.description = std::string("(invalid: ") + e.what() + ")";
    }
    out.push_back(std::move(listing));
  }
  return out;
}

}  // namespace sandbox::profiles
