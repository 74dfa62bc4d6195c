// The small kernel concerns of the child: id maps, hostname, loopback, privileges.
#pragma once

#include <sys/types.h>

#include <string>

namespace sandbox::launcher {

// "INSIDE OUTSIDE 1\n": the caller's own id mapped to itself (user_namespaces(7)). Pure.
std::string id_map_line(unsigned id);

// Writes setgroups=deny (required before an unprivileged gid_map), uid_map and gid_map of the
// calling process, which is the first process of a new user namespace. Throws SetupError.
void write_id_maps_in_child(uid_t uid, gid_t gid);

void set_hostname_in_child(const std::string& name);

// A new network namespace has `lo` down; bring it up so loopback works inside.
void bring_up_loopback_in_child();

// Every capability set empty (effective, permitted, inheritable, ambient, bounding), then
// PR_SET_NO_NEW_PRIVS. Throws SetupError.
void drop_privileges_in_child();

}  // namespace sandbox::launcher
