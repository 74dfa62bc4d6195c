// DNS wire format (RFC 1035), just what the sandbox's resolver needs: read a query from the
// sandboxed program (untrusted: every read is bounds-checked, compression pointers may only
// point backwards, so no loops), answer it with an error, and read the A/AAAA records of the
// upstream server's response. Pure: no I/O.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "netpolicy/rules.h"

namespace sandbox::netpolicy {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kClassIn = 1;
inline constexpr size_t kHeaderSize = 12;

enum class Rcode : uint8_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5
};

// A malformed or unsupported message, with what is wrong (for --verbose; never sent anywhere).
class DnsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Question {
  std::string qname;  // lower case, no final dot; "" for the root
  uint16_t qtype = 0;
  uint16_t qclass = 0;
};

struct Query {
  uint16_t id = 0;
  uint16_t flags = 0;  // the header's second 16 bits, as sent
  Question question;
  size_t question_end = 0;  // offset just past the question section
};

struct Response {
  uint16_t id = 0;
  uint16_t flags = 0;
  Rcode rcode = Rcode::kNoError;
  bool truncated = false;
  Question question;
  // Every A and AAAA record (class IN) of the answer section. A recursive resolver answers a
  // CNAME chain with the chain and its addresses, so they all belong to the question name.
  std::vector<ResolvedAddress> addresses;
};

// A standard query (QR=0, opcode QUERY) with exactly one question. The name may only hold
// a-z, A-Z, 0-9, '-' and '_' (so it is safe to log and to match against rules). Throws DnsError.
Query parse_query(ByteView packet);

// The 16-bit id of any message of at least 2 bytes (to answer FORMERR when parsing fails).
uint16_t message_id(ByteView packet);
void set_message_id(Bytes& packet, uint16_t id);

// A response to `query` with `rcode`, no records, the question echoed. QR and RA are set, RD is
// copied; EDNS is not echoed (allowed: RFC 6891 6.1.1 only requires it when the reply has OPT).
Bytes error_response(const Query& query, Rcode rcode);
// A header-only response (FORMERR for a query that could not be parsed).
Bytes header_response(uint16_t id, uint16_t query_flags, Rcode rcode);

// Reads an upstream response (QR=1, one question). Throws DnsError.
Response parse_response(ByteView packet);

// "A", "AAAA", "MX", ..., or "TYPE65" style for the others.
std::string qtype_name(uint16_t qtype);

// Encodes a dotted name as wire labels (for tests and error responses). Throws DnsError.
Bytes encode_name(const std::string& name);

}  // namespace sandbox::netpolicy
