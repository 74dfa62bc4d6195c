// D-Bus through xdg-dbus-proxy, against a real dbus-daemon the test starts: the profile's
// `talk` names are reachable, others are not even visible, `own` names can be owned (on the
// real bus), others cannot, and without a `dbus` entry there is no bus at all.
#include <unistd.h>

#include "tests/system/system.h"

namespace sandbox::it {
namespace {

class DbusTest : public SystemTest {
 protected:
  void SetUp() override {
    SystemTest::SetUp();
    if (IsSkipped()) return;
    SYSTEM_REQUIRE({"dbus-daemon", "dbus-daemon"}, {"dbus-send", "dbus-bin"},
                   {"xdg-dbus-proxy", "xdg-dbus-proxy"}, {"python3-dbus", "python3-dbus python3-gi"});
    start_session_bus();
    // Two connections: xdg-dbus-proxy's rules are per peer, so a peer that owns an allowed
    // name may be called by any of its names, its unique one included.
    start_echo_service({"org.sandbox.Echo"});
    start_echo_service({"org.sandbox.Hidden"});
    profile_ = write_profile("dbus-talk",
                             "version: 1\n"
                             "extends: default\n"
                             "dbus:\n"
                             "  session:\n"
                             "    talk: [org.sandbox.Echo]\n"
                             "    own: [org.sandbox.Mine, org.sandbox.Mine2.*]\n");
  }

  // dbus-send inside a sandbox of profile_ (or `profile`), on the session bus it was given.
  Result send_inside(const std::vector<std::string>& args, const std::string& profile = "") {
    std::vector<std::string> argv = {paths().launcher, "run", "-p",
                                     profile.empty() ? profile_ : profile, "--",
                                     "/usr/bin/dbus-send", "--session"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, desktop_options(), 30);
  }

  Result send_on_host(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/dbus-send", "--bus=" + bus_address_};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, options(), 30);
  }

  static std::vector<std::string> echo(const std::string& dest, const std::string& text) {
    return {"--print-reply=literal", "--dest=" + dest, "/org/sandbox/Echo",
            "org.sandbox.Echo.Echo", "string:" + text};
  }

  static std::vector<std::string> bus_call(const std::string& method,
                                           const std::vector<std::string>& args) {
    std::vector<std::string> out = {"--print-reply", "--dest=org.freedesktop.DBus",
                                    "/org/freedesktop/DBus", "org.freedesktop.DBus." + method};
    out.insert(out.end(), args.begin(), args.end());
    return out;
  }

  std::string profile_;
};

TEST_F(DbusTest, TalkNameIsReachableThroughTheProxy) {
  const Result r = send_inside(echo("org.sandbox.Echo", "inside"));
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("echo:inside"), std::string::npos) << r.describe();
}

TEST_F(DbusTest, OtherNamesAreNeitherReachableNorVisible) {
  // Control: the service answers under that name on the real bus.
  const Result host = send_on_host(echo("org.sandbox.Hidden", "host"));
  ASSERT_EQ(host.exit_code, 0) << host.describe();
  ASSERT_NE(host.out.find("echo:host"), std::string::npos) << host.describe();

  const Result r = send_inside(echo("org.sandbox.Hidden", "inside"));
  EXPECT_NE(r.exit_code, 0) << "a name the profile does not allow answered\n" << r.describe();
  EXPECT_EQ(r.out.find("echo:"), std::string::npos) << r.describe();

  // The service's unique name is not a way around the filter either.
  const Result owner = send_on_host(bus_call("GetNameOwner", {"string:org.sandbox.Hidden"}));
  ASSERT_EQ(owner.exit_code, 0) << owner.describe();
  const size_t q = owner.out.find("\":");
  ASSERT_NE(q, std::string::npos) << owner.describe();
  const std::string unique = owner.out.substr(q + 1, owner.out.find('"', q + 1) - q - 1);
  const Result by_unique = send_inside(echo(unique, "inside"));
  EXPECT_EQ(by_unique.out.find("echo:"), std::string::npos)
      << "the service answered through its unique name " << unique << "\n" << by_unique.describe();

  const Result names = send_inside(bus_call("ListNames", {}));
  EXPECT_EQ(names.exit_code, 0) << names.describe();
  EXPECT_NE(names.out.find("\"org.sandbox.Echo\""), std::string::npos) << names.describe();
  EXPECT_EQ(names.out.find("org.sandbox.Hidden"), std::string::npos)
      << "a name the profile does not allow is visible\n" << names.describe();
}

TEST_F(DbusTest, OwnedNamesCanBeOwnedOthersAreRefused) {
  const Result mine = send_inside(bus_call("RequestName", {"string:org.sandbox.Mine", "uint32:4"}));
  EXPECT_EQ(mine.exit_code, 0) << mine.describe();
  EXPECT_NE(mine.out.find("uint32 1"), std::string::npos)  // DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER
      << mine.describe();
  const Result in_ns =
      send_inside(bus_call("RequestName", {"string:org.sandbox.Mine2.Sub", "uint32:4"}));
  EXPECT_NE(in_ns.out.find("uint32 1"), std::string::npos) << in_ns.describe();

  const Result other = send_inside(bus_call("RequestName", {"string:org.sandbox.Other", "uint32:4"}));
  EXPECT_NE(other.exit_code, 0) << "a name the profile does not let it own was granted\n"
                                << other.describe();
  EXPECT_EQ(other.out.find("uint32 1"), std::string::npos) << other.describe();

  // The owned name is real: while a program in the sandbox holds it, the host bus shows it.
  write_file(in_home("hold.py"),
             "import sys, time, dbus\n"
             "bus = dbus.SessionBus()\n"
             "for name in sys.argv[1:]:\n"
             "    try:\n"
             "        print(name, 'reply', bus.request_name(name, dbus.bus.NAME_FLAG_DO_NOT_QUEUE), flush=True)\n"
             "    except dbus.exceptions.DBusException as e:\n"
             "        print(name, 'error', e.get_dbus_name(), flush=True)\n"
             "print('held', flush=True)\n"
             "time.sleep(60)\n");
  Process& holder = start({paths().launcher, "run", "-p", profile_, "--", "/usr/bin/python3",
                           in_home("hold.py"), "org.sandbox.Mine", "org.sandbox.Other"},
                          desktop_options());
  ASSERT_TRUE(holder.wait_for_stdout("held", 30000)) << stop(holder).describe();
  const std::string out = holder.out_so_far();
  EXPECT_NE(out.find("org.sandbox.Mine reply 1"), std::string::npos) << out;
  EXPECT_EQ(out.find("org.sandbox.Other reply"), std::string::npos) << out;
  const Result has_mine = send_on_host(bus_call("NameHasOwner", {"string:org.sandbox.Mine"}));
  EXPECT_NE(has_mine.out.find("boolean true"), std::string::npos) << has_mine.describe();
  const Result has_other = send_on_host(bus_call("NameHasOwner", {"string:org.sandbox.Other"}));
  EXPECT_NE(has_other.out.find("boolean false"), std::string::npos) << has_other.describe();
  stop(holder);
}

TEST_F(DbusTest, WithoutADbusEntryThereIsNoBus) {
  const std::string host_socket = runtime_dir() + "/bus";
  // default has no `dbus`; the launcher is given the bus address and the runtime dir anyway.
  const std::string script =
      "echo \"addr=${DBUS_SESSION_BUS_ADDRESS-unset}\"\n"
      "for p in /run/user/$(id -u)/bus " + host_socket + "; do\n"
      "  if test -e \"$p\"; then echo \"present $p\"; else echo \"absent $p\"; fi\n"
      "done\n"
      "for a in unix:path=/run/user/$(id -u)/bus unix:path=" + host_socket + "; do\n"
      "  if /usr/bin/dbus-send --bus=$a --print-reply=literal --dest=org.sandbox.Echo "
      "/org/sandbox/Echo org.sandbox.Echo.Echo string:x; then echo \"reached $a\"; fi\n"
      "done\n";
  const Result r = run({paths().launcher, "run", "-p", "default", "--", "/bin/sh", "-c", script},
                       desktop_options(), 30);
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("addr=unset"), std::string::npos) << r.describe();
  EXPECT_EQ(r.out.find("present"), std::string::npos) << "a bus socket is there\n" << r.describe();
  EXPECT_NE(r.out.find("absent " + host_socket), std::string::npos) << r.describe();
  EXPECT_EQ(r.out.find("reached"), std::string::npos) << "a bus was reachable\n" << r.describe();
  EXPECT_EQ(r.out.find("echo:"), std::string::npos) << r.describe();

  // Control: the same address works on the host.
  const Result host = send_on_host(echo("org.sandbox.Echo", "host"));
  EXPECT_NE(host.out.find("echo:host"), std::string::npos) << host.describe();
}

}  // namespace
}  // namespace sandbox::it
