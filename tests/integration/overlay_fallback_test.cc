// The fuse-overlayfs fallback for kernels that refuse overlayfs in a user namespace, forced
// with SANDBOX_OVERLAY=fuse (this kernel does not refuse it).
#include <unistd.h>

#include <chrono>
#include <thread>

#include "tests/integration/harness.h"

namespace sandbox::it {
namespace {

class OverlayFallbackTest : public SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (access("/usr/bin/fuse-overlayfs", X_OK) != 0) GTEST_SKIP() << "fuse-overlayfs is not installed";
    if (access("/dev/fuse", R_OK | W_OK) != 0) GTEST_SKIP() << "/dev/fuse is not usable";
  }
  SpawnOptions forced(const std::string& driver = "fuse") const {
    SpawnOptions o = options();
    o.env.push_back("SANDBOX_OVERLAY=" + driver);
    return o;
  }
};

TEST_F(OverlayFallbackTest, FuseOverlayfsHomeKeepsChangesInTheLayer) {
  write_file(in_home("notes.txt"), "original\n");
  write_file(in_home("gone.txt"), "x\n");
  const Result r = run(probe_argv({}, {"read", "/proc/self/mountinfo"}), forced());
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("fuse.fuse-overlayfs"), std::string::npos) << r.describe();

  const Result w = run(probe_argv({}, {"write", in_home("notes.txt"), "changed"}), forced());
  ASSERT_EQ(w.exit_code, 0) << w.describe();
  const Result d = run(probe_argv({}, {"unlink", in_home("gone.txt")}), forced());
  EXPECT_EQ(d.exit_code, 0) << d.describe();
  EXPECT_EQ(read_file(in_home("notes.txt")), "original\n");
  EXPECT_TRUE(exists(in_home("gone.txt")));
  EXPECT_EQ(read_file(layer() + "/upper/notes.txt"), "changed");
  // Secrets stay hidden on top of the FUSE mount too.
  make_dirs(in_home(".ssh"), 0700);
  write_file(in_home(".ssh/id_ed25519"), "SECRET\n", 0600);
  const Result s = run(probe_argv({}, {"read", in_home(".ssh/id_ed25519")}), forced());
  EXPECT_EQ(s.out.find("SECRET"), std::string::npos) << s.describe();
  // The daemon ends with the sandbox.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(find_processes("lowerdir=" + home_).empty());
}

TEST_F(OverlayFallbackTest, EphemeralHomeOnFuseLeavesNothing) {
  const Result r = run(probe_argv({"--home", "ephemeral"}, {"write", in_home("tmp.txt"), "x"}), forced());
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_FALSE(exists(in_home("tmp.txt")));
  // The throwaway host-side layer is gone.
  const Result ls = run({"/bin/sh", "-c", "ls -a " + state_dir()}, options());
  EXPECT_EQ(ls.out.find(".ephemeral-"), std::string::npos) << ls.describe();
}

// The same layer used by the kernel's overlayfs, then by fuse-overlayfs (a home shared by two
// machines, a kernel downgrade), then by the kernel again: each sees what the other wrote.
TEST_F(OverlayFallbackTest, ALayerMovesBetweenKernelAndFuse) {
  const Result k = run(probe_argv({}, {"write", in_home("a.txt"), "kernel"}), forced("kernel"));
  ASSERT_EQ(k.exit_code, 0) << k.describe();
  const Result f = run(probe_argv({}, {"read", in_home("a.txt")}), forced("fuse"));
  ASSERT_EQ(f.exit_code, 0) << f.describe();
  EXPECT_NE(f.out.find("data=kernel"), std::string::npos) << f.describe();
  const Result fw = run(probe_argv({}, {"write", in_home("b.txt"), "fuse"}), forced("fuse"));
  ASSERT_EQ(fw.exit_code, 0) << fw.describe();
  const Result k2 = run(probe_argv({}, {"read", in_home("b.txt")}), forced("kernel"));
  ASSERT_EQ(k2.exit_code, 0) << k2.describe();
  EXPECT_NE(k2.out.find("data=fuse"), std::string::npos) << k2.describe();
  EXPECT_FALSE(exists(in_home("a.txt")));
  EXPECT_FALSE(exists(in_home("b.txt")));
}

TEST_F(OverlayFallbackTest, UnknownDriverIsAnError) {
  const Result r = run(probe_argv({}, {"exit", "0"}), forced("zfs"));
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("SANDBOX_OVERLAY: 'zfs' is not one of auto, kernel, fuse"), std::string::npos)
      << r.describe();
}

}  // namespace
}  // namespace sandbox::it
