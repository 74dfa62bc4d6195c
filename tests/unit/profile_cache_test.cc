// ParseCache: entries give back exactly what parse_profile_text() gave, and anything that is
// not exactly this parser's entry for this path and this text is a miss, never a wrong profile.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "profiles/parse_cache.h"
#include "profiles/profile.h"
#include "tests/unit/temp_dir.h"

namespace sandbox::profiles {
namespace {

namespace fs = std::filesystem;

using TempDir = sandbox::test::TempDir;

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every key of the schema, with values that differ from the defaults.
const char* const kEveryKey = R"(version: 1
name: every
description: "all the keys"
extends: [default, ./base.yaml]
command: [/usr/bin/app, --flag, "two words"]
instance: multi
home: {mode: ephemeral, size: 64M}
filesystem:
  rw: [~/work, "?/media/usb"]
  ro: [/srv/data]
  hide: [~/.ssh]
  show: [~/.mozilla]
  tmpfs: [$XDG_CACHE_HOME/app]
  dev: [/dev/dri]
display: [wayland, x11]
audio: true
gpu: false
dbus:
  session:
    talk: [org.freedesktop.Notifications]
    own: [org.example.App]
    see: [org.example.*]
    call: ["org.freedesktop.portal.*=*"]
    broadcast: ["org.example.App=org.example.App.Signal@/"]
  system:
    talk: [org.freedesktop.login1]
network:
  mode: filtered
  allow: [example.com:443/tcp, "*.debian.org", 10.0.0.0/8]
  publish: [8080, 9000]
env:
  keep: [PATH, LC_*]
  set: {A: "1", B: "two words"}
limits:
  memory: 2G
  cpu: 1.5
  pids: 512
  io_weight: 50
  timeout: 90.5
  rlimits: {nofile: 1024, core: 0}
  required: true
security: {seccomp: devel, nested_userns: true}
desktop_entry: org.example.App.desktop
)";

TEST(ProfileCache, EncodingGivesBackEveryField) {
  const ParsedFile parsed = parse_profile_text(kEveryKey, "/p/every.yaml");
  // The fixture must really set every field, or the round trip proves less than it says.
  const Profile& p = parsed.profile;
  ASSERT_TRUE(p.command && p.home_mode && p.home_size && p.instance && p.display && p.audio &&
              p.gpu && p.network_mode && p.seccomp && p.nested_userns && p.desktop_entry);
  ASSERT_TRUE(p.limits.memory && p.limits.cpu && p.limits.pids && p.limits.io_weight &&
              p.limits.timeout && p.limits.required);
  ASSERT_FALSE(p.rw.empty() || p.ro.empty() || p.hide.empty() || p.show.empty() ||
               p.tmpfs.empty() || p.dev.empty() || p.net_allow.empty() || p.publish.empty() ||
               p.env_keep.empty() || p.env_set.empty() || p.limits.rlimits.empty() ||
               p.dbus_session.broadcast.empty() || !p.dbus_system.enabled);
  ASSERT_EQ(parsed.extends_names.size(), 2u);

  const std::string entry = encode_cache_entry("stamp", "/p/every.yaml", kEveryKey, parsed);
  const auto back = decode_cache_entry(entry, "stamp", "/p/every.yaml", kEveryKey);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, parsed);
}

TEST(ProfileCache, EveryShippedProfileRoundTrips) {
  for (const auto& e : fs::directory_iterator(std::string(SANDBOX_SOURCE_DIR) + "/profiles/data")) {
    const std::string text = read(e.path());
    const ParsedFile parsed = parse_profile_text(text, e.path());
    const auto back =
        decode_cache_entry(encode_cache_entry("s", e.path(), text, parsed), "s", e.path(), text);
    ASSERT_TRUE(back) << e.path();
    EXPECT_EQ(*back, parsed) << e.path();
  }
}

TEST(ProfileCache, AnotherStampFileOrTextIsAMiss) {
  const std::string text = "version: 1\nenv: {set: {A: '1'}}\n";
  const ParsedFile parsed = parse_profile_text(text, "/p/a.yaml");
  const std::string entry = encode_cache_entry("build-1", "/p/a.yaml", text, parsed);
  EXPECT_TRUE(decode_cache_entry(entry, "build-1", "/p/a.yaml", text));
  EXPECT_FALSE(decode_cache_entry(entry, "build-2", "/p/a.yaml", text));
  EXPECT_FALSE(decode_cache_entry(entry, "build-1", "/p/b.yaml", text));
  // Same length, same everything but one byte: an edit within the same second and size.
  EXPECT_FALSE(decode_cache_entry(entry, "build-1", "/p/a.yaml",
                                  "version: 1\nenv: {set: {A: '2'}}\n"));
}

TEST(ProfileCache, DamagedEntriesAreMissesNotCrashes) {
  const ParsedFile parsed = parse_profile_text(kEveryKey, "/p/every.yaml");
  const std::string entry = encode_cache_entry("s", "/p/every.yaml", kEveryKey, parsed);
  for (size_t n = 0; n < entry.size(); ++n)  // every truncation
    ASSERT_FALSE(decode_cache_entry(entry.substr(0, n), "s", "/p/every.yaml", kEveryKey)) << n;
  for (size_t i = 0; i < entry.size(); i += 7) {  // a flipped bit anywhere
    std::string bad = entry;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    ASSERT_FALSE(decode_cache_entry(bad, "s", "/p/every.yaml", kEveryKey)) << i;
  }
  EXPECT_FALSE(decode_cache_entry(entry + "x", "s", "/p/every.yaml", kEveryKey));
  EXPECT_FALSE(decode_cache_entry("", "s", "/p/every.yaml", kEveryKey));
}

TEST(ProfileCache, LoaderParsesOnceThenReadsTheCache) {
  TempDir tmp;
  tmp.write("profiles/base.yaml", "version: 1\nenv: {keep: [PATH]}\n");
  const std::string leaf =
      tmp.write("profiles/app.yaml", "version: 1\nextends: base\nenv: {set: {A: '1'}}\n");
  Loader loader{{tmp / "profiles"}};
  const Profile fresh = loader.load("app");

  const ParseCache cache(tmp / "state/.cache/profiles", "stamp");
  loader.use_cache(&cache);
  EXPECT_EQ(loader.load("app"), fresh);
  EXPECT_EQ(cache.misses(), 2u);
  EXPECT_EQ(cache.hits(), 0u);
  struct stat st {};
  ASSERT_EQ(::stat((tmp / "state/.cache/profiles").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  for (const auto& e : fs::directory_iterator(tmp / "state/.cache/profiles")) {
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u) << e.path();
    EXPECT_EQ(e.path().extension(), "") << "a temp file was left: " << e.path();
  }

  EXPECT_EQ(loader.load("app"), fresh);
  EXPECT_EQ(cache.hits(), 2u);

  // The base edited in place, same size: its entry is a miss, the leaf's still a hit.
  tmp.write("profiles/base.yaml", "version: 1\nenv: {keep: [HOME]}\n");
  const Profile edited = loader.load("app");
  EXPECT_EQ(edited.env_keep, std::vector<std::string>{"HOME"});
  EXPECT_EQ(cache.hits(), 3u);
  EXPECT_EQ(cache.misses(), 3u);
  // A profile that now shadows the base on the search path is found: names are resolved
  // afresh on every load, only parsing is remembered.
  loader = Loader{{tmp / "user", tmp / "profiles"}};
  loader.use_cache(&cache);
  tmp.write("user/base.yaml", "version: 1\nenv: {keep: [TERM]}\n");
  EXPECT_EQ(loader.load("app").env_keep, std::vector<std::string>{"TERM"});
}

TEST(ProfileCache, ErrorsAreNotCached) {
  TempDir tmp;
  const std::string file = tmp.write("p/bad.yaml", "version: 1\nnetwork: {mode: maybe}\n");
  Loader loader{{tmp / "p"}};
  const ParseCache cache(tmp / "cache", "stamp");
  loader.use_cache(&cache);
  for (int i = 0; i < 2; ++i) EXPECT_THROW(loader.load("bad"), ProfileError);
  EXPECT_FALSE(fs::exists(tmp / "cache") && !fs::is_empty(tmp / "cache"));
}

TEST(ProfileCache, UntrustedOrBrokenEntriesAreIgnoredAndReplaced) {
  TempDir tmp;
  const std::string file = tmp.write("p/app.yaml", "version: 1\ndescription: real\n");
  const ParseCache cache(tmp / "cache", "stamp");
  const ParsedFile parsed = parse_profile_text(read(file), file);
  cache.store(file, read(file), parsed);
  ASSERT_TRUE(cache.find(file, read(file)));
  fs::path entry;
  for (const auto& e : fs::directory_iterator(tmp / "cache")) entry = e.path();

  // Writable by others: not trusted.
  ::chmod(entry.c_str(), 0666);
  EXPECT_FALSE(cache.find(file, read(file)));
  ::chmod(entry.c_str(), 0600);
  EXPECT_TRUE(cache.find(file, read(file)));

  // Garbage: a miss; the next store replaces it.
  std::ofstream(entry, std::ios::trunc) << "garbage";
  EXPECT_FALSE(cache.find(file, read(file)));
  cache.store(file, read(file), parsed);
  EXPECT_TRUE(cache.find(file, read(file)));

  // A symlink in its place is not followed, and a store replaces the link, not its target.
  const std::string decoy = tmp.write("decoy", "keep me");
  fs::remove(entry);
  fs::create_symlink(decoy, entry);
  EXPECT_FALSE(cache.find(file, read(file)));
  cache.store(file, read(file), parsed);
  EXPECT_EQ(read(decoy), "keep me");
  EXPECT_FALSE(fs::is_symlink(entry));
  EXPECT_TRUE(cache.find(file, read(file)));
}

TEST(ProfileCache, AnUnwritableCacheOnlyCostsTime) {
  TempDir tmp;
  const std::string file = tmp.write("p/app.yaml", "version: 1\ndescription: real\n");
  tmp.write("not-a-dir", "");
  const ParseCache cache(tmp / "not-a-dir/cache", "stamp");  // ENOTDIR on every call
  Loader loader{{tmp / "p"}};
  loader.use_cache(&cache);
  EXPECT_EQ(loader.load("app").description, "real");
  EXPECT_EQ(loader.load("app").description, "real");
  EXPECT_EQ(cache.hits(), 0u);
  // No stamp (the launcher could not identify itself): never used.
  const ParseCache unstamped(tmp / "cache2", "");
  loader.use_cache(&unstamped);
  EXPECT_EQ(loader.load("app").description, "real");
  EXPECT_FALSE(fs::exists(tmp / "cache2"));
}

}  // namespace
}  // namespace sandbox::profiles
