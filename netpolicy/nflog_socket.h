// The NFLOG (nfnetlink_log) socket through which the filter's `log group` rule reports the
// packets it refuses. Open it after joining the sandbox's namespaces: a netlink socket belongs
// to the network namespace it was created in, and binding a group needs CAP_NET_ADMIN over it.
#pragma once

#include <cstdint>

#include "netpolicy/fd.h"

namespace sandbox::netpolicy {

// A non-blocking NETLINK_NETFILTER socket bound to NFLOG `group`, copying the first
// `copy_range` bytes of each packet. Throws std::runtime_error naming the step and errno.
UniqueFd open_nflog(uint16_t group, uint32_t copy_range);

}  // namespace sandbox::netpolicy
