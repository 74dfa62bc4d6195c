// A memo of parse_profile_text() on disk, so that a launch does not pay yaml-cpp's parse
// (about 60% of the launcher's own work before clone) for a profile it has parsed before.
//
// An entry holds the profile file's path, its whole text and the ParsedFile that text gave;
// it is used only when the path and the text read now are byte-for-byte the same, and when it
// was written by this very binary (`stamp`: the launcher's file identity). So an entry can
// be missing or old, never wrong: an edited profile, an edited base (`extends` is resolved
// afresh on every load, each file through this memo), a rebuilt launcher are all misses.
// Entries live in the state tree, which every sandbox hides (docs/design.md, "The profile
// cache"); one that is not a regular file owned by the caller and writable only by it, or
// whose checksum or format is wrong, is ignored. Writes are temp file + rename; a failure to
// write (full disk, read-only home) is silent: the cache only ever saves time.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "profiles/profile.h"

namespace sandbox::profiles {

class ParseCache {
 public:
  // `dir`: where the entries are (created 0700 with its missing parents on the first store).
  // `stamp`: names the parser that wrote an entry; entries with another stamp are misses.
  ParseCache(std::string dir, std::string stamp);

  std::optional<ParsedFile> find(const std::string& file, const std::string& text) const;
  void store(const std::string& file, const std::string& text, const ParsedFile& parsed) const;

  const std::string& dir() const { return dir_; }
  // What this process did, for `sandbox -v`.
  unsigned hits() const { return hits_; }
  unsigned misses() const { return misses_; }

 private:
  std::string entry_path(const std::string& file) const;
  std::string dir_;
  std::string stamp_;
  mutable unsigned hits_ = 0;
  mutable unsigned misses_ = 0;
};

// The entry format, exposed for tests: the stamp, the file, the text, then every field of
// the ParsedFile; a checksum covers it all. decode returns nullopt for anything malformed.
std::string encode_cache_entry(const std::string& stamp, const std::string& file,
                               const std::string& text, const ParsedFile& parsed);
std::optional<ParsedFile> decode_cache_entry(std::string_view bytes, const std::string& stamp,
                                             const std::string& file, const std::string& text);

}  // namespace sandbox::profiles
