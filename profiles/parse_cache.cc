// The on-disk memo of parse_profile_text(); see parse_cache.h for what makes an entry usable.
#include "profiles/parse_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/atomic_file.h"
#include "common/unique_fd.h"

namespace sandbox::profiles {

namespace {

constexpr char kMagic[8] = {'S', 'B', 'X', 'P', 'C', '0', '1', '\n'};
constexpr size_t kMaxEntry = 4u << 20;  // a profile is at most 1 MiB of text (loader.cc)

uint64_t fnv1a(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// The largest value of each enum, so that a decoded one is always a valid enumerator.
constexpr unsigned enum_max(HomeMode) { return static_cast<unsigned>(HomeMode::kRo); }
constexpr unsigned enum_max(NetworkMode) { return static_cast<unsigned>(NetworkMode::kFiltered); }
constexpr unsigned enum_max(SeccompPolicy) { return static_cast<unsigned>(SeccompPolicy::kDevel); }
constexpr unsigned enum_max(InstanceMode) { return static_cast<unsigned>(InstanceMode::kMulti); }
constexpr unsigned enum_max(DisplayKind) { return static_cast<unsigned>(DisplayKind::kX11); }

// One field list per struct drives both directions. The structured bindings name every
// member: adding a member to a struct of profile.h without adding it here does not compile.
template <class Ar> void fields(Ar& ar, SourcePos& v) {
  auto& [file, line, column] = v;
  ar(file, line, column);
}
template <class Ar> void fields(Ar& ar, PathEntry& v) {
  auto& [path, optional, pos] = v;
  ar(path, optional, pos);
}
template <class Ar> void fields(Ar& ar, DbusPolicy& v) {
  auto& [enabled, talk, own, see, call, broadcast] = v;
  ar(enabled, talk, own, see, call, broadcast);
}
template <class Ar> void fields(Ar& ar, Limits& v) {
  auto& [memory, cpu, pids, io_weight, timeout, rlimits, required] = v;
  ar(memory, cpu, pids, io_weight, timeout, rlimits, required);
}
template <class Ar> void fields(Ar& ar, NetRule& v) {
  auto& [text, pos] = v;
  ar(text, pos);
}
template <class Ar> void fields(Ar& ar, EnvSet& v) {
  auto& [name, value, pos] = v;
  ar(name, value, pos);
}
template <class Ar> void fields(Ar& ar, Profile& v) {
  auto& [name, description, file, extends_files, command, home_mode, home_size, instance, rw,
         ro, hide, tmpfs, dev, show, display, audio, gpu, dbus_session, dbus_system, limits,
         network_mode, net_allow, publish, env_keep, env_set, seccomp, nested_userns,
         desktop_entry] = v;
  ar(name, description, file, extends_files, command, home_mode, home_size, instance, rw, ro,
     hide, tmpfs, dev, show, display, audio, gpu, dbus_session, dbus_system, limits,
     network_mode, net_allow, publish, env_keep, env_set, seccomp, nested_userns,
     desktop_entry);
}
template <class Ar> void fields(Ar& ar, ParsedFile& v) {
  auto& [profile, extends_names] = v;
  ar(profile, extends_names);
}

class Writer {
 public:
  template <class... T> void operator()(const T&... values) { (put(values), ...); }
  std::string out;

 private:
  void raw(const void* p, size_t n) { out.append(static_cast<const char*>(p), n); }
  void put(uint64_t v) { raw(&v, sizeof v); }
  void put(int v) { put(static_cast<uint64_t>(static_cast<int64_t>(v))); }
  void put(unsigned v) { put(static_cast<uint64_t>(v)); }
  void put(unsigned long long v) { put(static_cast<uint64_t>(v)); }
  void put(bool v) { put(static_cast<uint64_t>(v ? 1 : 0)); }
  void put(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    put(bits);
  }
  void put(const std::string& v) {
    put(static_cast<uint64_t>(v.size()));
    raw(v.data(), v.size());
  }
  template <class E> requires std::is_enum_v<E> void put(E v) {
    put(static_cast<uint64_t>(static_cast<unsigned>(v)));
  }
  template <class T> void put(const std::optional<T>& v) {
    put(v.has_value());
    if (v) put(*v);
  }
  template <class T> void put(const std::vector<T>& v) {
    put(static_cast<uint64_t>(v.size()));
    for (const T& item : v) put(item);
  }
  template <class K, class V> void put(const std::map<K, V>& v) {
    put(static_cast<uint64_t>(v.size()));
    for (const auto& [key, value] : v) put(key), put(value);
  }
  template <class A, class B> void put(const std::pair<A, B>& v) { put(v.first), put(v.second); }
  // Structs: fields() takes a mutable reference so that one list serves both directions;
  // the writer only reads through it.
  template <class T> requires std::is_class_v<T> void put(const T& v) {
    fields(*this, const_cast<T&>(v));
  }
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <class... T> void operator()(T&... values) { (get(values), ...); }
  bool ok() const { return ok_; }
  bool at_end() const { return in_.empty(); }

 private:
  bool take(void* p, size_t n) {
    if (!ok_ || in_.size() < n) return ok_ = false;
    std::memcpy(p, in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  void get(uint64_t& v) {
    v = 0;
    take(&v, sizeof v);
  }
  // A count of items that each take at least 8 bytes cannot exceed what is left.
  uint64_t count() {
    uint64_t n = 0;
    get(n);
    if (n > in_.size() / 8) ok_ = false, n = 0;
    return n;
  }
  template <class I> requires std::is_integral_v<I> && (!std::is_same_v<I, bool>)
  void get(I& v) {
    uint64_t raw = 0;
    get(raw);
    v = static_cast<I>(raw);
    if (std::is_signed_v<I> ? static_cast<int64_t>(v) != static_cast<int64_t>(raw)
                            : static_cast<uint64_t>(v) != raw)
      ok_ = false;
  }
  void get(bool& v) {
    uint64_t raw = 0;
    get(raw);
    if (raw > 1) ok_ = false;
    v = raw == 1;
  }
  void get(double& v) {
    uint64_t bits = 0;
    get(bits);
    std::memcpy(&v, &bits, sizeof v);
  }
  void get(std::string& v) {
    uint64_t n = 0;
    get(n);
    if (!ok_ || n > in_.size()) {
      ok_ = false;
      return;
    }
    v = std::string(in_.substr(0, n));
    in_.remove_prefix(n);
  }
  template <class E> requires std::is_enum_v<E> void get(E& v) {
    uint64_t raw = 0;
    get(raw);
    if (raw > enum_max(E{})) ok_ = false, raw = 0;
    v = static_cast<E>(raw);
  }
  template <class T> void get(std::optional<T>& v) {
    bool present = false;
    get(present);
    v.reset();
    if (!ok_ || !present) return;
    v.emplace();
    get(*v);
  }
  template <class T> void get(std::vector<T>& v) {
    const uint64_t n = count();
    v.clear();
    v.reserve(n);
    for (uint64_t i = 0; ok_ && i < n; ++i) get(v.emplace_back());
  }
  template <class K, class V> void get(std::map<K, V>& v) {
    const uint64_t n = count();
    v.clear();
    for (uint64_t i = 0; ok_ && i < n; ++i) {
      K key{};
      V value{};
      get(key), get(value);
      v[std::move(key)] = std::move(value);
    }
  }
  template <class A, class B> void get(std::pair<A, B>& v) { get(v.first), get(v.second); }
  template <class T> requires std::is_class_v<T> void get(T& v) { fields(*this, v); }

  std::string_view in_;
  bool ok_ = true;
};

// Missing parents are made 0700, as the XDG base directory spec asks of the data home.
bool make_dirs(const std::string& dir) {
  for (size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
    const std::string part = dir.substr(0, slash);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) return false;
    if (slash == std::string::npos) return true;
  }
}

}  // namespace

std::string encode_cache_entry(const std::string& stamp, const std::string& file,
                               const std::string& text, const ParsedFile& parsed) {
  Writer w;
  w(stamp, file, text, parsed);
  std::string out(kMagic, sizeof kMagic);
  const uint64_t sum = fnv1a(w.out);
  out.append(reinterpret_cast<const char*>(&sum), sizeof sum);
  out += w.out;
  return out;
}

// GCC 12 warns that the optional members of a moved Profile "may be used uninitialized"
// (a known false positive of its -Wmaybe-uninitialized with std::optional at -O2 and above).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
std::optional<ParsedFile> decode_cache_entry(std::string_view bytes, const std::string& stamp,
                                             const std::string& file, const std::string& text) {
  if (bytes.size() < sizeof kMagic + 8 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    return std::nullopt;
  uint64_t sum = 0;
  std::memcpy(&sum, bytes.data() + sizeof kMagic, sizeof sum);
  const std::string_view body = bytes.substr(sizeof kMagic + sizeof sum);
  if (fnv1a(body) != sum) return std::nullopt;
  Reader r(body);
  std::string entry_stamp, entry_file, entry_text;
  r(entry_stamp, entry_file, entry_text);
  if (!r.ok() || entry_stamp != stamp || entry_file != file || entry_text != text)
    return std::nullopt;
  std::optional<ParsedFile> parsed(std::in_place);
  r(*parsed);
  if (!r.ok() || !r.at_end()) parsed.reset();
  return parsed;
}
#pragma GCC diagnostic pop

ParseCache::ParseCache(std::string dir, std::string stamp)
    : dir_(std::move(dir)), stamp_(std::move(stamp)) {}

std::string ParseCache::entry_path(const std::string& file) const {
  char name[17];
  std::snprintf(name, sizeof name, "%016llx", static_cast<unsigned long long>(fnv1a(file)));
  return dir_ + "/" + name;
}

std::optional<ParsedFile> ParseCache::find(const std::string& file,
                                           const std::string& text) const {
  ++misses_;  // taken back on a hit
  if (dir_.empty() || stamp_.empty()) return std::nullopt;
  UniqueFd fd(::open(entry_path(file).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid()) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() ||
      (st.st_mode & 022) != 0 || st.st_size <= 0 || static_cast<size_t>(st.st_size) > kMaxEntry)
    return std::nullopt;
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    got += static_cast<size_t>(n);
  }
  std::optional<ParsedFile> parsed = decode_cache_entry(bytes, stamp_, file, text);
  if (parsed) --misses_, ++hits_;
  return parsed;
}

void ParseCache::store(const std::string& file, const std::string& text,
                       const ParsedFile& parsed) const {
  if (dir_.empty() || stamp_.empty() || !make_dirs(dir_)) return;
  // A failure (full disk, read-only home) only means the next launch parses again.
  (void)write_file_atomically(entry_path(file), encode_cache_entry(stamp_, file, text, parsed),
                              0600, /*durable=*/false);
}

}  // namespace sandbox::profiles
