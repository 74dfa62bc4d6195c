// libnftables, for sandbox-net: loads the filter and adds resolved addresses to its sets.
// Create it after joining the sandbox's network namespace: the context's netlink socket
// belongs to the namespace it was opened in.
#pragma once

#include <string>

struct nft_ctx;

namespace sandbox::netpolicy {

class Nftables {
 public:
  Nftables();  // throws std::runtime_error
  ~Nftables();
  Nftables(const Nftables&) = delete;
  Nftables& operator=(const Nftables&) = delete;

  // Runs `commands` (nft syntax) as one transaction: all of it is applied, or nothing.
  // Returns an empty string, or libnftables' error message on one line.
  std::string run(const std::string& commands);

 private:
  nft_ctx* ctx_ = nullptr;
};

}  // namespace sandbox::netpolicy
