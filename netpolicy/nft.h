// The nftables text of the egress filter (for libnftables' nft_run_cmd_from_buffer()), and the
// set updates that let a resolved name through. Pure: no I/O.
//
// One table, `inet sandbox`, with one chain hooked on output with policy drop: loopback,
// replies (ct state established,related) and IPv6 neighbour discovery pass; then one rule per
// address rule or `lan` range; then, per name or wildcard rule i, the sets n<i>_4 and n<i>_6
// (addresses with a timeout, filled by the DNS resolver); everything else is logged to NFLOG
// group `log_group` and rejected (TCP with a reset, the rest with ICMP admin-prohibited) so
// that programs fail at once instead of timing out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "netpolicy/rules.h"

namespace sandbox::netpolicy {

inline constexpr uint16_t kLogGroup = 7;
inline constexpr const char* kTableName = "sandbox";  // family inet
// A DNS answer stays in the filter for its TTL, but never less than this: many programs cache
// answers a little longer than told, and a very short TTL would race their connect().
inline constexpr uint32_t kMinTimeoutSeconds = 10;
// And never longer than a day, so a bogus TTL does not keep an address forever.
inline constexpr uint32_t kMaxTimeoutSeconds = 86400;

// The whole ruleset. It first deletes an existing `inet sandbox` table, so loading it again
// replaces the filter in one transaction.
std::string ruleset(const std::vector<Rule>& rules, uint16_t log_group = kLogGroup);

// The set names of name rule `index` (its position in the rule list).
std::string set_name(size_t index, int family);

// The text that adds the answers for `qname` to the sets of every rule that matches it, each
// with timeout clamp(ttl, kMinTimeoutSeconds, kMaxTimeoutSeconds). Each element is added,
// deleted and added again in the same transaction: the first add makes sure it exists (so the
// delete cannot fail), the second sets the new timeout (before Linux 6.10 an add of an existing
// element leaves its old timeout). Empty when no rule matches or there are no addresses.
// The caller filters the answers first (answer_refusal()).
std::string add_elements(const std::vector<Rule>& rules, const std::string& qname,
                         const std::vector<ResolvedAddress>& answers);

}  // namespace sandbox::netpolicy
