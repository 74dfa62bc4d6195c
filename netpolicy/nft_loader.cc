#include "netpolicy/nft_loader.h"

#include <nftables/libnftables.h>

#include <sstream>
#include <stdexcept>

namespace sandbox::netpolicy {

Nftables::Nftables() : ctx_(nft_ctx_new(NFT_CTX_DEFAULT)) {
  if (!ctx_) throw std::runtime_error("nft_ctx_new failed (out of memory?)");
  // Messages go to buffers, not to our stderr, so that they can be reported as one line.
  nft_ctx_buffer_output(ctx_);
  nft_ctx_buffer_error(ctx_);
}

Nftables::~Nftables() {
  nft_ctx_free(ctx_);
}

std::string Nftables::run(const std::string& commands) {
  int rc = nft_run_cmd_from_buffer(ctx_, commands.c_str());
  // Reading a buffer also empties it for the next call.
  nft_ctx_get_output_buffer(ctx_);
  std::string errors = nft_ctx_get_error_buffer(ctx_) ? nft_ctx_get_error_buffer(ctx_) : "";
  if (rc == 0) return {};
  // libnftables echoes the offending input line and a caret line after each "Error:"; the
  // error lines themselves are what a person needs.
  std::istringstream in(errors);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.find("Error:") == std::string::npos) continue;
    if (!out.empty()) out += "; ";
    out += line;
  }
  if (out.empty()) out = errors.empty() ? "nft_run_cmd_from_buffer failed" : errors;
  for (char& c : out) {
    if (c == '\n') c = ' ';
  }
  return out;
}

}  // namespace sandbox::netpolicy
