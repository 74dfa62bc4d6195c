// The command-line glue of diff, commit and reset (launcher/layer_commands.h): exit statuses,
// messages, paths as people type them, and reset's question.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "launcher/instance.h"
#include "launcher/layer_commands.h"
#include "tests/unit/overlay_fixture.h"
#include "tests/unit/stream_util.h"

namespace sandbox::overlay::testing {
namespace {

using launcher::CommandIo;
using launcher::HostFacts;
using launcher::LayerCommandArgs;

using sandbox::testing::drain;

class LayerCommandsTest : public LayerTest {
 protected:
  void SetUp() override {
    LayerTest::SetUp();
    host_.uid = geteuid();
    host_.gid = getegid();
    host_.home = home_;
    host_.xdg_data_home = home_ + "/.local/share";
    host_.xdg_runtime_dir = base_ + "/run";
    mkdir(host_.xdg_runtime_dir.c_str(), 0700);
    host_.environ = {"HOME=" + home_ + "/"};
    io_.out = std::tmpfile();
    io_.err = std::tmpfile();
    io_.in = std::tmpfile();
    io_.interactive = 0;
  }
  void TearDown() override {
    for (std::FILE* f : {io_.in, io_.out, io_.err})
      if (f) std::fclose(f);
    LayerTest::TearDown();
  }
  void answer(const std::string& text) {
    std::fputs(text.c_str(), io_.in);
    std::rewind(io_.in);
    io_.interactive = 1;
  }
  LayerCommandArgs args(std::vector<std::string> paths = {}) {
    LayerCommandArgs a;
    a.app = "app";
    a.paths = std::move(paths);
    return a;
  }
  std::string out() { return drain(io_.out); }
  void clear_out() { ASSERT_NE(io_.out = std::freopen(nullptr, "w+", io_.out), nullptr); }
  std::string err() { return drain(io_.err); }

  HostFacts host_;
  CommandIo io_;
};

TEST_F(LayerCommandsTest, PathsAsPeopleTypeThem) {
  SKIP_IF_UNSUPPORTED();
  HostFacts h;
  h.home = "/home/ann";
  h.environ = {"HOME=/usr/home/ann"};
  EXPECT_EQ(launcher::home_relative_path("~/docs/a.txt", h), "docs/a.txt");
  EXPECT_EQ(launcher::home_relative_path("/home/ann/docs/", h), "docs");
  EXPECT_EQ(launcher::home_relative_path("/usr/home/ann/docs", h), "docs");
  EXPECT_EQ(launcher::home_relative_path("docs/./x/../y", h), "docs/y");
  EXPECT_EQ(launcher::home_relative_path("~", h), "");
  EXPECT_EQ(launcher::home_relative_path("/home/ann", h), "");
  EXPECT_THROW(launcher::home_relative_path("/etc/passwd", h), std::invalid_argument);
  EXPECT_THROW(launcher::home_relative_path("/home/annex/x", h), std::invalid_argument);
  EXPECT_THROW(launcher::home_relative_path("../bob", h), std::invalid_argument);
}

TEST_F(LayerCommandsTest, DiffWithoutALayer) {
  SKIP_IF_UNSUPPORTED();
  LayerCommandArgs a = args();
  a.app = "never-ran";
  EXPECT_EQ(launcher::run_diff(host_, a, io_), 0);
  EXPECT_EQ(out(), "no changes\n");
  EXPECT_EQ(err(), "sandbox: no layer for never-ran (nothing to diff)\n");
  EXPECT_EQ(launcher::run_commit(host_, a, io_), 0);
  EXPECT_EQ(launcher::run_reset(host_, a, io_), 0);
}

TEST_F(LayerCommandsTest, BadAppNameAndPathOutsideTheHome) {
  SKIP_IF_UNSUPPORTED();
  LayerCommandArgs a = args();
  a.app = "../etc";
  EXPECT_EQ(launcher::run_diff(host_, a, io_), 125);
  EXPECT_NE(err().find("not a valid app name"), std::string::npos);
  EXPECT_EQ(launcher::run_commit(host_, args({"/etc/passwd"}), io_), 125);
  EXPECT_NE(err().find("/etc/passwd is outside the home"), std::string::npos);
}

TEST_F(LayerCommandsTest, DiffPlainStatJsonAndPaths) {
  SKIP_IF_UNSUPPORTED();
  up_file("a", "12");
  up_file("b/c", "3");
  EXPECT_EQ(launcher::run_diff(host_, args(), io_), 0);
  EXPECT_EQ(out(), "A  a  (2 B)\nA  b/\nA  b/c  (1 B)\n");
  clear_out();
  EXPECT_EQ(launcher::run_diff(host_, args({home_ + "/b"}), io_), 0);
  EXPECT_EQ(out(), "A  b/\nA  b/c  (1 B)\n");
  clear_out();
  LayerCommandArgs s = args();
  s.stat = true;
  EXPECT_EQ(launcher::run_diff(host_, s, io_), 0);
  EXPECT_EQ(out(), "added                3  3 B\ntotal                3  3 B to write, 0 B to delete\n");
  clear_out();
  LayerCommandArgs j = args({"~/a"});
  j.json = true;
  EXPECT_EQ(launcher::run_diff(host_, j, io_), 0);
  EXPECT_EQ(out().rfind("[\n  {\"path\": \"a\", \"kind\": \"added\"", 0), 0u);
}

TEST_F(LayerCommandsTest, CommitRefusesConflictsWithExitStatusOne) {
  SKIP_IF_UNSUPPORTED();
  real_file("f", "v1");
  up_file("f", "app's");
  touch_real_later("f");
  EXPECT_EQ(launcher::run_commit(host_, args(), io_), 1);
  const std::string e = err();
  EXPECT_NE(e.find("sandbox: not committing anything of app:\n1 conflict(s)"), std::string::npos) << e;
  EXPECT_NE(e.find("  M! f  (2 B -> 5 B)  [conflict:"), std::string::npos) << e;
  EXPECT_NE(e.find("sandbox commit --force app"), std::string::npos) << e;
  LayerCommandArgs f = args();
  f.force = true;
  EXPECT_EQ(launcher::run_commit(host_, f, io_), 0);
  EXPECT_EQ(out(), "Committed 1 change of app to " + home_ +
                       ":\n  M! f  (2 B -> 5 B)  [conflict: changed in the real home after the "
                       "app made its version]\n");
}

TEST_F(LayerCommandsTest, CommitDryRun) {
  SKIP_IF_UNSUPPORTED();
  up_file("n", "new");
  LayerCommandArgs d = args();
  d.dry_run = true;
  EXPECT_EQ(launcher::run_commit(host_, d, io_), 0);
  EXPECT_EQ(out(), "Would commit 1 change of app to " + home_ + ":\n  A  n  (3 B)\n");
  EXPECT_EQ(access((home_ + "/n").c_str(), F_OK), -1);
}

TEST_F(LayerCommandsTest, ResetNeedsATerminalOrYes) {
  SKIP_IF_UNSUPPORTED();
  up_file("x", "1");
  EXPECT_EQ(launcher::run_reset(host_, args(), io_), 125);
  EXPECT_NE(err().find("pass -y to confirm"), std::string::npos);
  EXPECT_NE(upper_tree(), "");

  answer("n\n");
  EXPECT_EQ(launcher::run_reset(host_, args(), io_), 1);
  EXPECT_NE(err().find("Drop 1 change of app? [y/N] "), std::string::npos);
  EXPECT_NE(upper_tree(), "");

  ASSERT_NE(io_.in = std::freopen(nullptr, "w+", io_.in), nullptr);
  answer("y\n");
  EXPECT_EQ(launcher::run_reset(host_, args(), io_), 0);
  EXPECT_EQ(upper_tree(), "");

  up_file("y", "2");
  io_.interactive = 0;
  LayerCommandArgs yes = args();
  yes.yes = true;
  EXPECT_EQ(launcher::run_reset(host_, yes, io_), 0);
  EXPECT_EQ(upper_tree(), "");
}

TEST_F(LayerCommandsTest, RefusesWhileTheLayerIsInUse) {
  SKIP_IF_UNSUPPORTED();
  up_file("x", "1");
  // A running launcher holds the layer's lock.
  const auto held = launcher::try_lock_layer(layer_.root);
  ASSERT_TRUE(held.has_value());
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    LayerCommandArgs yes = args();
    yes.yes = true;
    const int commit = launcher::run_commit(host_, args(), io_);
    const int reset = launcher::run_reset(host_, yes, io_);
    std::fflush(nullptr);
    _exit(commit == 125 && reset == 125 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_NE(err().find("sandbox: app is running; quit it before you commit its layer"), std::string::npos);
  EXPECT_NE(upper_tree(), "");
}

}  // namespace
}  // namespace sandbox::overlay::testing
