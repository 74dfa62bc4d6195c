// sandbox-net's sockets: the project's owned file descriptor.
#pragma once

#include "common/unique_fd.h"

namespace sandbox::netpolicy {
using UniqueFd = sandbox::UniqueFd;
}  // namespace sandbox::netpolicy
