// --json-status: the record's fields, and how it is written.
#include "launcher/status.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace sandbox::launcher {
namespace {

RunStatus sample() {
  RunStatus s;
  s.version = "0.1.0";
  s.app = "ci";
  s.profile = "ci";
  s.profile_file = "/usr/share/sandbox/profiles/ci.yaml";
  s.command = {"make", "test"};
  s.cwd = "/work/proj";
  s.started = 1764876600.25;  // 2025-12-04T19:30:00.250Z
  s.ended = 1764876612.5;
  s.exit_code = 124;
  s.timed_out = true;
  s.timeout = 10;
  s.limits_backend = "rlimits";
  s.peak_memory = 1048576;
  s.peak_memory_source = "largest process";
  s.cpu_seconds = 1.5;
  s.network = "filtered";
  s.network_allow = {"registry.npmjs.org:443/tcp"};
  s.network_denials = 2;
  s.home_mode = "tmpfs";
  s.writable_paths = {"/work/proj"};
  return s;
}

TEST(Status, EveryField) {
  EXPECT_EQ(format_status_json(sample()),
            "{\"sandbox_version\": \"0.1.0\", \"app\": \"ci\", \"profile\": \"ci\", \"profile_file\": "
            "\"/usr/share/sandbox/profiles/ci.yaml\", \"command\": [\"make\", \"test\"], \"cwd\": \"/work/proj\", "
            "\"started\": \"2025-12-04T19:30:00.250Z\", \"ended\": \"2025-12-04T19:30:12.500Z\", "
            "\"duration_s\": 12.250, \"exit_code\": 124, \"signal\": null, \"launcher_failed\": false, "
            "\"error\": null, \"timed_out\": true, \"timeout_s\": 10.000, \"memory_limit_hit\": false, "
            "\"pids_limit_hit\": false, \"limits_backend\": \"rlimits\", \"peak_memory_bytes\": 1048576, "
            "\"peak_memory_source\": \"largest process\", \"cpu_s\": 1.500, \"network\": \"filtered\", "
            "\"network_allow\": [\"registry.npmjs.org:443/tcp\"], \"network_denials\": 2, \"net_log\": null, "
            "\"home_mode\": \"tmpfs\", \"home_layer\": null, \"writable_paths\": [\"/work/proj\"], "
            "\"written_outside_workspace\": []}\n");
}

TEST(Status, FailureAndSignal) {
  RunStatus s = sample();
  s.exit_code = 137;
  s.signal = 9;
  s.launcher_failed = false;
  s.error = "sandbox: \"quoted\"\n";
  const std::string j = format_status_json(s);
  EXPECT_NE(j.find("\"signal\": 9"), std::string::npos);
  EXPECT_NE(j.find("\"error\": \"sandbox: \\\"quoted\\\"\\n\""), std::string::npos) << j;
}

TEST(Status, WrittenAtomicallyOrToAnFd) {
  char dir[] = "/tmp/status-test-XXXXXX";
  ASSERT_TRUE(mkdtemp(dir));
  const std::string path = std::string(dir) + "/s.json";
  EXPECT_EQ(write_status_file(path, "{}\n"), "");
  std::ifstream in(path);
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_EQ(got.str(), "{}\n");
  EXPECT_NE(write_status_file(std::string(dir) + "/missing/s.json", "{}\n"), "");
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_EQ(write_status_fd(p[1], "{\"a\": 1}\n"), "");
  char buf[32] = {};
  EXPECT_EQ(read(p[0], buf, sizeof(buf)), 9);
  close(p[0]);
  close(p[1]);
  unlink(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace sandbox::launcher
