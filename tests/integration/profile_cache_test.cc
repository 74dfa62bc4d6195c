// The parse cache (profiles/parse_cache.h) from outside: a second launch reads its profiles
// from the cache, an edit takes effect on the very next launch even when it keeps the file's
// size and mtime second, and no sandbox can see or change the cache.
#include <sys/stat.h>
#include <sys/time.h>

#include "tests/integration/harness.h"

namespace sandbox::it {
namespace {

class ProfileCacheTest : public SandboxTest {
 protected:
  std::string profile_file() const { return in_home(".config/sandbox/profiles/cachetest.yaml"); }
  void write_profile(const std::string& value) {
    make_dirs(in_home(".config/sandbox/profiles"));
    write_file(profile_file(), "version: 1\nextends: default\nenv:\n  set: {CACHED: \"" + value +
                                   "\"}\n");
  }
  // CACHED inside a `-v` run of the profile, and the launcher's line about the cache.
  std::pair<std::string, std::string> run_once() {
    const Result r = probe({"-p", "cachetest", "-v"}, {"env", "CACHED"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    std::string line;
    for (const std::string& l : split(r.err, '\n'))
      if (l.rfind("sandbox: profile cachetest:", 0) == 0) line = l;
    return {find_line(r.out, "env").value_or(Fields{})["value"], line};
  }
  std::string cache_dir() const { return state_dir() + "/.cache/profiles"; }
};

TEST_F(ProfileCacheTest, SecondLaunchReadsTheCacheAndAnEditIsSeenAtOnce) {
  write_profile("one");
  auto [value, line] = run_once();
  EXPECT_EQ(value, "one");
  EXPECT_NE(line.find("2 file(s) parsed, 0 from the cache"), std::string::npos) << line;
  struct stat st {};
  ASSERT_EQ(::stat(cache_dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);

  std::tie(value, line) = run_once();
  EXPECT_EQ(value, "one");
  EXPECT_NE(line.find("0 file(s) parsed, 2 from the cache"), std::string::npos) << line;

  // Same size, and the old mtime put back: only the text tells the entry is stale.
  ASSERT_EQ(::stat(profile_file().c_str(), &st), 0);
  write_profile("two");
  const timeval times[2] = {{st.st_atim.tv_sec, 0}, {st.st_mtim.tv_sec, st.st_mtim.tv_nsec / 1000}};
  ASSERT_EQ(::utimes(profile_file().c_str(), times), 0);
  std::tie(value, line) = run_once();
  EXPECT_EQ(value, "two");
  EXPECT_NE(line.find("1 file(s) parsed, 1 from the cache"), std::string::npos) << line;

  // A damaged entry is a miss, not an error, and is replaced.
  const Result ls = run({"/bin/ls", cache_dir()}, options());
  for (const std::string& name : split(ls.out, '\n'))
    if (!name.empty()) write_file(cache_dir() + "/" + name, "garbage", 0600);
  std::tie(value, line) = run_once();
  EXPECT_EQ(value, "two");
  EXPECT_NE(line.find("2 file(s) parsed, 0 from the cache"), std::string::npos) << line;
  std::tie(value, line) = run_once();
  EXPECT_NE(line.find("0 file(s) parsed, 2 from the cache"), std::string::npos) << line;
}

TEST_F(ProfileCacheTest, NoSandboxSeesOrChangesTheCache) {
  write_profile("one");
  run_once();
  const Result ls = run({"/bin/ls", cache_dir()}, options());
  ASSERT_FALSE(ls.out.empty()) << ls.describe();
  for (const std::vector<std::string>& opts :
       {std::vector<std::string>{}, {"--home", "bind"}, {"--rw", in_home(".local")}}) {
    std::vector<std::string> run_opts = {"-p", "cachetest"};
    run_opts.insert(run_opts.end(), opts.begin(), opts.end());
    const Fields l = probe_fields(run_opts, {"ls", cache_dir()});
    EXPECT_NE(l.at("result"), "ok") << "the cache is visible with " << testing::PrintToString(opts);
    const Fields w = probe_fields(run_opts, {"write", cache_dir() + "/planted", "x"});
    EXPECT_NE(w.at("result"), "ok") << testing::PrintToString(opts);
    EXPECT_FALSE(exists(cache_dir() + "/planted"));
  }
}

TEST_F(ProfileCacheTest, CheckAndProfilesLeaveNoEntries) {
  const std::string file = outside_dir("cachecheck") + "/mine.yaml";
  write_file(file, "version: 1\ndescription: mine\n");
  const Result r = sandbox({"check", file});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(sandbox({"profiles"}).exit_code, 0);
  EXPECT_FALSE(exists(cache_dir()));
}

}  // namespace
}  // namespace sandbox::it
