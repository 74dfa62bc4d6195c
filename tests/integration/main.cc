// main() of the integration tier: when run as root, stage the binaries where an unprivileged
// user can run them and drop to that user; then check that user namespaces work at all.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "tests/integration/harness.h"

extern char** environ;

namespace sandbox::it {

namespace {

constexpr const char* kTestUser = "sandbox-test";

Paths g_paths;
std::string g_userns_reason;

std::string dir_of(const std::string& path) { return path.substr(0, path.rfind('/')); }

// The launcher under test: the build's, unless SANDBOX_IT_LAUNCHER names another binary
// (another build, or a deliberately broken one to see that the tests catch it).
std::string launcher_under_test() {
  const char* other = getenv("SANDBOX_IT_LAUNCHER");
  return other && *other ? other : SANDBOX_IT_LAUNCHER;
}

bool fail(const std::string& what) {
  std::fprintf(stderr, "integration_tests: %s\n", what.c_str());
  return false;
}

bool copy_file(const std::string& from, const std::string& to, mode_t mode) {
  const int in = open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return fail("open " + from + ": " + strerror(errno));
  const int out = open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (out < 0) {
    close(in);
    return fail("create " + to + ": " + strerror(errno));
  }
  struct stat st;
  fstat(in, &st);
  off_t off = 0;
  bool ok = true;
  while (off < st.st_size) {
    const ssize_t n = sendfile(out, in, &off, static_cast<size_t>(st.st_size - off));
    if (n <= 0) {
      ok = fail("copy " + from + ": " + strerror(errno));
      break;
    }
  }
  fchmod(out, mode);  // not narrowed by the umask
  close(in);
  close(out);
  return ok;
}

// Runs a program (no shell) and returns its exit status, or -1.
int run_program(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    const int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    execve(args[0], args.data(), environ);
    _exit(127);
  }
  int status;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool ensure_test_user() {
  if (getpwnam(kTestUser)) return true;
  const int rc = run_program({"/usr/sbin/useradd", "--create-home", "--shell", "/bin/bash", kTestUser});
  // Another test process may have created it at the same time.
  if (getpwnam(kTestUser)) return true;
  return fail(std::string("useradd ") + kTestUser + " failed (exit " + std::to_string(rc) + ")");
}

// bin/sandbox + share/sandbox/profiles (the layout the launcher finds its profiles by),
// probe/sandbox_probe, and suid/sandbox_probe (setuid root). Everything but the setuid copy
// belongs to the test user, so that it can remove the whole directory at exit (unlinking
// a root-owned file needs only write access to its directory).
bool stage(uid_t uid, gid_t gid) {
  remove_stale("/var/tmp", "sandbox-it.");
  std::string dir = "/var/tmp/sandbox-it." + std::to_string(getpid()) + ".XXXXXX";
  if (!mkdtemp(dir.data())) return fail("mkdtemp /var/tmp: " + std::string(strerror(errno)));
  g_paths.staging = dir;
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const char* sub : {"bin", "share", "share/sandbox", "share/sandbox/profiles", "probe", "suid"})
    fs::create_directory(dir + "/" + sub, ec);
  if (!copy_file(launcher_under_test(), dir + "/bin/sandbox", 0755)) return false;
  // `sandbox desktop` and `--net filtered` run their helpers from next to the launcher.
  const std::string launcher = launcher_under_test();
  for (const char* name : {"sandbox-desktop", "sandbox-net"}) {
    const std::string helper = launcher.substr(0, launcher.rfind('/')) + "/" + name;
    if (access(helper.c_str(), X_OK) == 0 && !copy_file(helper, dir + "/bin/" + name, 0755)) return false;
  }
  if (!copy_file(SANDBOX_IT_PROBE, dir + "/probe/sandbox_probe", 0755)) return false;
  if (!copy_file(SANDBOX_IT_PROBE, dir + "/suid/sandbox_probe", 0755)) return false;
  for (const auto& e : fs::directory_iterator(std::string(SANDBOX_IT_SHARE) + "/profiles", ec)) {
    if (!e.is_regular_file()) continue;
    if (!copy_file(e.path().string(), dir + "/share/sandbox/profiles/" + e.path().filename().string(), 0644))
      return false;
  }
  if (ec) return fail("list " + std::string(SANDBOX_IT_SHARE) + "/profiles: " + ec.message());
#ifdef SANDBOX_IT_FIXTURES
  // Test projects (tests/fixtures), readable by the test user wherever the checkout is.
  fs::copy(SANDBOX_IT_FIXTURES, dir + "/fixtures", fs::copy_options::recursive, ec);
  if (ec) return fail("copy " + std::string(SANDBOX_IT_FIXTURES) + ": " + ec.message());
  g_paths.fixtures = dir + "/fixtures";
#endif
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path() == dir + "/suid/sandbox_probe") continue;
    if (lchown(e.path().c_str(), uid, gid) != 0) return fail("chown " + e.path().string());
  }
  if (chown(dir.c_str(), uid, gid) != 0 || chmod(dir.c_str(), 0755) != 0)
    return fail("chown " + dir);
  for (const char* sub : {"bin", "share", "share/sandbox", "share/sandbox/profiles", "probe", "suid"})
    chmod((dir + "/" + sub).c_str(), 0755);
  const std::string suid = dir + "/suid/sandbox_probe";
  if (chown(suid.c_str(), 0, 0) != 0 || chmod(suid.c_str(), 04755) != 0)
    return fail("make " + suid + " setuid root");
  g_paths.launcher = dir + "/bin/sandbox";
  g_paths.probe = dir + "/probe/sandbox_probe";
  g_paths.probe_dir = dir + "/probe";
  g_paths.setuid_probe = suid;
  g_paths.setuid_dir = dir + "/suid";
  return true;
}

bool drop_to(const passwd& pw) {
  const uid_t uid = pw.pw_uid;
  const gid_t gid = pw.pw_gid;
  const std::string name = pw.pw_name, home = pw.pw_dir;
  if (initgroups(name.c_str(), gid) != 0) return fail("initgroups: " + std::string(strerror(errno)));
  if (setgid(gid) != 0) return fail("setgid: " + std::string(strerror(errno)));
  if (setuid(uid) != 0) return fail("setuid: " + std::string(strerror(errno)));
  if (getuid() == 0 || geteuid() == 0 || getgid() == 0 || getegid() == 0)
    return fail("still root after dropping privileges");
  if (setuid(0) == 0) return fail("could regain root after dropping privileges");
  // A set-id change clears the dumpable flag, which makes /proc/self/* root's (and uid_map
  // unwritable for our forked checks): we are an ordinary process of this user now.
  if (prctl(PR_SET_DUMPABLE, 1) != 0) return fail("PR_SET_DUMPABLE failed");
  setenv("HOME", home.c_str(), 1);
  setenv("USER", name.c_str(), 1);
  setenv("LOGNAME", name.c_str(), 1);
  if (chdir(home.c_str()) != 0) return fail("chdir " + home + ": " + strerror(errno));
  return true;
}

void unset_xdg() {
  std::vector<std::string> names;
  for (char** e = environ; e && *e; ++e)
    if (strncmp(*e, "XDG_", 4) == 0) names.emplace_back(*e, strchr(*e, '=') - *e);
  for (const auto& n : names) unsetenv(n.c_str());
}

// Can this user make a user namespace and map itself into it? (A kernel, sysctl, AppArmor
// or container seccomp policy may each say no.)
std::string check_userns() {
  int pipefd[2];
  if (pipe(pipefd) != 0) return "pipe failed";
  const uid_t uid = getuid();
  const pid_t pid = fork();
  if (pid == 0) {
    close(pipefd[0]);
    std::string why;
    if (unshare(CLONE_NEWUSER) != 0) {
      why = std::string("unshare(CLONE_NEWUSER) failed: ") + strerror(errno);
    } else {
      const int fd = open("/proc/self/uid_map", O_WRONLY);
      const std::string map = "0 " + std::to_string(uid) + " 1\n";
      if (fd < 0 || write(fd, map.data(), map.size()) != static_cast<ssize_t>(map.size()))
        why = std::string("writing uid_map in a new user namespace failed: ") + strerror(errno);
    }
    if (write(pipefd[1], why.data(), why.size()) < 0) {}
    _exit(0);
  }
  close(pipefd[1]);
  char buf[512];
  const ssize_t n = read(pipefd[0], buf, sizeof(buf));
  close(pipefd[0]);
  waitpid(pid, nullptr, 0);
  if (n <= 0) return "";
  return "unprivileged user namespaces do not work for uid " + std::to_string(uid) + ": " +
         std::string(buf, static_cast<size_t>(n));
}

// Can this user mount an overlay (upper and work on the filesystem of the homes) in a user
// namespace of its own? Every home mode but tmpfs/bind/ro needs it, and it is a property of
// the kernel and of that filesystem (overlayfs cannot be the upper layer, as in containers
// whose root is an overlay), not of the launcher: checked here without the launcher.
std::string check_overlay() {
  std::string dir = std::string(getenv("HOME")) + "/sandbox-it-" + std::to_string(getpid()) + "-overlay-check-XXXXXX";
  if (!mkdtemp(dir.data())) return "cannot create " + dir + ": " + strerror(errno);
  for (const char* sub : {"/lower", "/upper", "/work", "/mnt"}) mkdir((dir + sub).c_str(), 0700);
  int pipefd[2];
  if (pipe(pipefd) != 0) return "pipe failed";
  const uid_t uid = getuid();
  const gid_t gid = getgid();
  const pid_t pid = fork();
  if (pid == 0) {
    close(pipefd[0]);
    std::string why;
    auto put = [](const char* file, const std::string& text) {
      const int fd = open(file, O_WRONLY);
      const bool ok = fd >= 0 && write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
      if (fd >= 0) close(fd);
      return ok;
    };
    const std::string opts = "lowerdir=" + dir + "/lower,upperdir=" + dir + "/upper,workdir=" +
                             dir + "/work,userxattr";
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
      why = std::string("unshare: ") + strerror(errno);
    else if (!put("/proc/self/setgroups", "deny") ||
             !put("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1\n") ||
             !put("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1\n"))
      why = std::string("id maps: ") + strerror(errno);
    else if (mount("overlay", (dir + "/mnt").c_str(), "overlay", 0, opts.c_str()) != 0)
      why = "mount overlay (" + opts + "): " + strerror(errno);
    if (write(pipefd[1], why.data(), why.size()) < 0) {}
    _exit(0);
  }
  close(pipefd[1]);
  char buf[1024];
  const ssize_t n = read(pipefd[0], buf, sizeof(buf));
  close(pipefd[0]);
  waitpid(pid, nullptr, 0);
  remove_tree(dir);
  if (n <= 0) return "";
  return "an unprivileged overlay mount on this filesystem fails, so no overlay home can work: " +
         std::string(buf, static_cast<size_t>(n));
}

void remove_staging() {
  if (!g_paths.staging.empty()) remove_tree(g_paths.staging);
}

}  // namespace

const Paths& paths() { return g_paths; }
const std::string& userns_unavailable_reason() { return g_userns_reason; }

bool set_up_process(int argc, char** argv) {
  // Listing (gtest_discover_tests at build time) touches nothing. Checked before
  // InitGoogleTest, which takes its flags out of argv.
  for (int i = 1; i < argc; ++i)
    if (strcmp(argv[i], "--gtest_list_tests") == 0) return true;

  if (geteuid() == 0) {
    if (!ensure_test_user()) return false;
    const passwd* found = getpwnam(kTestUser);
    if (!found) return fail("no user " + std::string(kTestUser));
    const passwd pw = *found;
    const std::string name = pw.pw_name, home = pw.pw_dir;  // copies: getpw* reuses its buffer
    passwd copy = pw;
    copy.pw_name = const_cast<char*>(name.c_str());
    copy.pw_dir = const_cast<char*>(home.c_str());
    // The home must be the user's own (a user deleted and made again gets a new uid).
    struct stat st;
    if (!exists(home)) make_dirs(home, 0755);
    if (stat(home.c_str(), &st) != 0 || st.st_uid != pw.pw_uid) {
      if (chown(home.c_str(), pw.pw_uid, pw.pw_gid) != 0) return fail("chown " + home);
    }
    if (!stage(pw.pw_uid, pw.pw_gid)) {
      remove_staging();
      return false;
    }
    if (!drop_to(copy)) {
      remove_staging();
      return false;
    }
    std::atexit(remove_staging);
  } else {
    g_paths.launcher = launcher_under_test();
    g_paths.probe = SANDBOX_IT_PROBE;
    g_paths.probe_dir = dir_of(g_paths.probe);
#ifdef SANDBOX_IT_FIXTURES
    g_paths.fixtures = SANDBOX_IT_FIXTURES;
#endif
    if (!getenv("HOME")) {
      if (const passwd* pw = getpwuid(getuid())) setenv("HOME", pw->pw_dir, 1);
    }
  }
  unset_xdg();
  remove_stale(getenv("HOME"), "sandbox-it-");
  // Whatever a sandbox leaves running becomes our child: SandboxTest::TearDown checks.
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return fail("PR_SET_CHILD_SUBREAPER failed");
  g_userns_reason = check_userns();
  if (g_userns_reason.empty()) g_userns_reason = check_overlay();
  return true;
}

}  // namespace sandbox::it

int main(int argc, char** argv) {
  if (!sandbox::it::set_up_process(argc, argv)) return 1;
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
