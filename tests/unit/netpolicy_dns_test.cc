#include "netpolicy/dns.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstring>

namespace sandbox::netpolicy {
namespace {

// Builders for DNS messages, byte by byte.
void u16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void u32(Bytes& b, uint32_t v) {
  u16(b, static_cast<uint16_t>(v >> 16));
  u16(b, static_cast<uint16_t>(v));
}
void header(Bytes& b, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns = 0,
            uint16_t ar = 0) {
  u16(b, id);
  u16(b, flags);
  u16(b, qd);
  u16(b, an);
  u16(b, ns);
  u16(b, ar);
}
void labels(Bytes& b, std::initializer_list<const char*> ls) {
  for (const char* l : ls) {
    b.push_back(static_cast<uint8_t>(std::strlen(l)));
    b.insert(b.end(), l, l + std::strlen(l));
  }
  b.push_back(0);
}
void pointer(Bytes& b, uint16_t offset) {
  u16(b, static_cast<uint16_t>(0xc000 | offset));
}

// "www.Example.com A IN", RD set, id 0x1234.
Bytes simple_query(uint16_t qtype = kTypeA) {
  Bytes b;
  header(b, 0x1234, 0x0100, 1, 0);
  labels(b, {"www", "Example", "com"});
  u16(b, qtype);
  u16(b, kClassIn);
  return b;
}

std::string parse_error(const Bytes& b, bool response = false) {
  try {
    if (response) {
      parse_response(b);
    } else {
      parse_query(b);
    }
  } catch (const DnsError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(NetpolicyDns, ParsesASimpleQuery) {
  Bytes b = simple_query(kTypeAaaa);
  Query q = parse_query(b);
  EXPECT_EQ(q.id, 0x1234);
  EXPECT_EQ(q.flags, 0x0100);
  EXPECT_EQ(q.question.qname, "www.example.com");
  EXPECT_EQ(q.question.qtype, kTypeAaaa);
  EXPECT_EQ(q.question.qclass, kClassIn);
  EXPECT_EQ(q.question_end, b.size());
}

TEST(NetpolicyDns, QueryWithEdnsAdditionalRecordIsAccepted) {
  Bytes b;
  header(b, 7, 0x0120, 1, 0, 0, 1);
  labels(b, {"example", "com"});
  u16(b, kTypeA);
  u16(b, kClassIn);
  b.push_back(0);  // OPT: root name
  u16(b, 41);
  u16(b, 1232);
  u32(b, 0);
  u16(b, 0);
  Query q = parse_query(b);
  EXPECT_EQ(q.question.qname, "example.com");
  EXPECT_EQ(q.question_end, b.size() - 11);
}

TEST(NetpolicyDns, RootQuery) {
  Bytes b;
  header(b, 1, 0, 1, 0);
  b.push_back(0);
  u16(b, 2);
  u16(b, kClassIn);
  EXPECT_EQ(parse_query(b).question.qname, "");
}

TEST(NetpolicyDns, RejectsMalformedQueries) {
  Bytes shorter = simple_query();
  EXPECT_NE(parse_error(Bytes(shorter.begin(), shorter.begin() + 5)).find("truncated"), std::string::npos);
  EXPECT_NE(parse_error(Bytes(shorter.begin(), shorter.end() - 1)).find("truncated"), std::string::npos);
  EXPECT_NE(parse_error(Bytes(shorter.begin(), shorter.begin() + 16)).find("truncated"), std::string::npos);
  EXPECT_NE(parse_error({}).find("truncated"), std::string::npos);

  Bytes response = simple_query();
  response[2] |= 0x80;
  EXPECT_NE(parse_error(response).find("QR"), std::string::npos);

  Bytes update = simple_query();
  update[2] |= 5 << 3;  // opcode UPDATE
  EXPECT_NE(parse_error(update).find("opcode 5"), std::string::npos);

  Bytes two;
  header(two, 1, 0, 2, 0);
  labels(two, {"a"});
  u16(two, 1);
  u16(two, 1);
  labels(two, {"b"});
  u16(two, 1);
  u16(two, 1);
  EXPECT_NE(parse_error(two).find("2 questions"), std::string::npos);

  Bytes none;
  header(none, 1, 0, 0, 0);
  EXPECT_NE(parse_error(none).find("0 questions"), std::string::npos);
}

TEST(NetpolicyDns, RejectsOddNameBytesInQueries) {
  for (char bad : {'.', '\n', ' ', '\0', '*', static_cast<char>(0xc3)}) {
    Bytes b;
    header(b, 1, 0, 1, 0);
    b.push_back(3);
    b.push_back('a');
    b.push_back(static_cast<uint8_t>(bad));
    b.push_back('b');
    labels(b, {"test"});
    u16(b, 1);
    u16(b, 1);
    EXPECT_NE(parse_error(b).find("byte other than"), std::string::npos) << int(bad);
  }
  Bytes underscore;
  header(underscore, 1, 0, 1, 0);
  labels(underscore, {"_sip", "_tcp", "Example", "com"});
  u16(underscore, 33);
  u16(underscore, 1);
  EXPECT_EQ(parse_query(underscore).question.qname, "_sip._tcp.example.com");
}

TEST(NetpolicyDns, CompressionLoopsAndForwardPointersAreRefused) {
  Bytes self;  // the name points at itself
  header(self, 1, 0, 1, 0);
  pointer(self, 12);
  u16(self, 1);
  u16(self, 1);
  EXPECT_NE(parse_error(self).find("backwards"), std::string::npos);

  Bytes forward;  // the name points past itself
  header(forward, 1, 0, 1, 0);
  pointer(forward, 14);
  labels(forward, {"a"});
  u16(forward, 1);
  u16(forward, 1);
  EXPECT_NE(parse_error(forward).find("backwards"), std::string::npos);

  // A two-step loop in a response: answer name -> 30 -> ... -> 30.
  Bytes loop;
  header(loop, 1, 0x8180, 1, 1);
  labels(loop, {"a", "test"});  // 12..19
  u16(loop, 1);
  u16(loop, 1);  // question ends at 24
  loop.push_back(1);
  loop.push_back('x');  // 24..25
  pointer(loop, 24);    // 26: points back to its own name's start
  EXPECT_NE(parse_error(loop, true).find("backwards"), std::string::npos);

  Bytes reserved;  // label type 0x40 (extended labels) is not supported
  header(reserved, 1, 0, 1, 0);
  reserved.push_back(0x41);
  reserved.push_back(0);
  u16(reserved, 1);
  u16(reserved, 1);
  EXPECT_NE(parse_error(reserved).find("label type"), std::string::npos);
}

TEST(NetpolicyDns, NamesLongerThan255BytesAreRefused) {
  Bytes b;
  header(b, 1, 0, 1, 0);
  for (int i = 0; i < 5; ++i) {
    b.push_back(63);
    b.insert(b.end(), 63, 'a');
  }
  b.push_back(0);
  u16(b, 1);
  u16(b, 1);
  EXPECT_NE(parse_error(b).find("255"), std::string::npos);
}

TEST(NetpolicyDns, ErrorResponsesEchoTheQuestion) {
  Query q = parse_query(simple_query(kTypeAaaa));
  Bytes r = error_response(q, Rcode::kNxDomain);
  Bytes expected;
  header(expected, 0x1234, 0x8183, 1, 0);  // QR, RD, RA, NXDOMAIN
  labels(expected, {"www", "example", "com"});
  u16(expected, kTypeAaaa);
  u16(expected, kClassIn);
  EXPECT_EQ(r, expected);

  Response parsed = parse_response(error_response(q, Rcode::kServFail));
  EXPECT_EQ(parsed.rcode, Rcode::kServFail);
  EXPECT_EQ(parsed.question.qname, "www.example.com");
  EXPECT_EQ(parse_response(error_response(q, Rcode::kRefused)).rcode, Rcode::kRefused);

  Bytes formerr = header_response(0xbeef, 0x0100, Rcode::kFormErr);
  Bytes expected_formerr;
  header(expected_formerr, 0xbeef, 0x8181, 0, 0);
  EXPECT_EQ(formerr, expected_formerr);
}

TEST(NetpolicyDns, MessageIds) {
  Bytes b = simple_query();
  EXPECT_EQ(message_id(b), 0x1234);
  set_message_id(b, 0xabcd);
  EXPECT_EQ(parse_query(b).id, 0xabcd);
  Bytes tiny = {1};
  EXPECT_EQ(message_id(tiny), 0);
  set_message_id(tiny, 5);  // too short: left alone
  EXPECT_EQ(tiny, Bytes{1});
}

// A response for www.example.com with a CNAME to cdn.example.net, its A and AAAA, compressed.
Bytes cname_response() {
  Bytes b;
  header(b, 0x4321, 0x8180, 1, 4);
  labels(b, {"www", "example", "com"});  // at 12
  u16(b, kTypeA);
  u16(b, kClassIn);
  pointer(b, 12);  // CNAME record
  u16(b, kTypeCname);
  u16(b, kClassIn);
  u32(b, 600);
  Bytes target;
  labels(target, {"cdn", "example", "net"});
  u16(b, static_cast<uint16_t>(target.size()));
  size_t cdn_at = b.size();
  b.insert(b.end(), target.begin(), target.end());
  pointer(b, static_cast<uint16_t>(cdn_at));  // A record of cdn.example.net
  u16(b, kTypeA);
  u16(b, kClassIn);
  u32(b, 120);
  u16(b, 4);
  b.insert(b.end(), {203, 0, 113, 7});
  pointer(b, static_cast<uint16_t>(cdn_at));  // and a TXT record, ignored
  u16(b, 16);
  u16(b, kClassIn);
  u32(b, 120);
  u16(b, 3);
  b.insert(b.end(), {2, 'h', 'i'});
  pointer(b, static_cast<uint16_t>(cdn_at));  // AAAA with a TTL with the top bit set
  u16(b, kTypeAaaa);
  u16(b, kClassIn);
  u32(b, 0x80000010);
  u16(b, 16);
  b.insert(b.end(), {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7});
  return b;
}

TEST(NetpolicyDns, ResponseAddressesFollowCnames) {
  Response r = parse_response(cname_response());
  EXPECT_EQ(r.id, 0x4321);
  EXPECT_EQ(r.rcode, Rcode::kNoError);
  EXPECT_FALSE(r.truncated);
  EXPECT_EQ(r.question.qname, "www.example.com");
  EXPECT_EQ(r.question.qtype, kTypeA);
  ASSERT_EQ(r.addresses.size(), 2u);
  EXPECT_EQ(r.addresses[0].address, *parse_address("203.0.113.7"));
  EXPECT_EQ(r.addresses[0].ttl, 120u);
  EXPECT_EQ(r.addresses[1].address, *parse_address("2001:db8::7"));
  EXPECT_EQ(r.addresses[1].ttl, 0u);  // RFC 2181 8
}

TEST(NetpolicyDns, ResponseFlagsAndRcodes) {
  Bytes b;
  header(b, 9, 0x8383, 1, 0);  // QR, TC, RD, RA, NXDOMAIN
  labels(b, {"gone", "test"});
  u16(b, kTypeA);
  u16(b, kClassIn);
  Response r = parse_response(b);
  EXPECT_EQ(r.rcode, Rcode::kNxDomain);
  EXPECT_TRUE(r.truncated);
  EXPECT_TRUE(r.addresses.empty());
}

TEST(NetpolicyDns, RejectsMalformedResponses) {
  Bytes full = cname_response();
  // Every truncation of a valid response is refused cleanly, never read past the end.
  for (size_t n = 0; n < full.size(); ++n) {
    EXPECT_NE(parse_error(Bytes(full.begin(), full.begin() + static_cast<long>(n)), true), "(no error)") << n;
  }
  EXPECT_NE(parse_error(simple_query(), true).find("QR is clear"), std::string::npos);

  Bytes bad_a;  // an A record with 5 bytes of data
  header(bad_a, 1, 0x8180, 1, 1);
  labels(bad_a, {"a", "test"});
  u16(bad_a, kTypeA);
  u16(bad_a, kClassIn);
  pointer(bad_a, 12);
  u16(bad_a, kTypeA);
  u16(bad_a, kClassIn);
  u32(bad_a, 60);
  u16(bad_a, 5);
  bad_a.insert(bad_a.end(), {1, 2, 3, 4, 5});
  EXPECT_NE(parse_error(bad_a, true).find("5 bytes"), std::string::npos);

  Bytes long_rdata;  // rdlength beyond the end
  header(long_rdata, 1, 0x8180, 1, 1);
  labels(long_rdata, {"a", "test"});
  u16(long_rdata, kTypeA);
  u16(long_rdata, kClassIn);
  pointer(long_rdata, 12);
  u16(long_rdata, kTypeA);
  u16(long_rdata, kClassIn);
  u32(long_rdata, 60);
  u16(long_rdata, 0xffff);
  long_rdata.insert(long_rdata.end(), {1, 2, 3, 4});
  EXPECT_NE(parse_error(long_rdata, true).find("truncated"), std::string::npos);
}

TEST(NetpolicyDns, GarbageNeverCrashes) {
  // A cheap fuzz: flip bytes of valid messages and parse them all; only DnsError may come out.
  Bytes base = cname_response();
  uint32_t seed = 12345;
  for (int i = 0; i < 20000; ++i) {
    Bytes b = base;
    for (int k = 0; k < 3; ++k) {
      seed = seed * 1103515245 + 12345;
      b[(seed >> 8) % b.size()] = static_cast<uint8_t>(seed >> 20);
    }
    try {
      parse_response(b);
    } catch (const DnsError&) {
    }
    try {
      parse_query(b);
    } catch (const DnsError&) {
    }
  }
}

TEST(NetpolicyDns, QtypeNamesAndNameEncoding) {
  EXPECT_EQ(qtype_name(1), "A");
  EXPECT_EQ(qtype_name(28), "AAAA");
  EXPECT_EQ(qtype_name(65), "HTTPS");
  EXPECT_EQ(qtype_name(999), "TYPE999");
  Bytes expected;
  labels(expected, {"a", "bc"});
  EXPECT_EQ(encode_name("a.bc"), expected);
  EXPECT_EQ(encode_name(""), Bytes{0});
  EXPECT_THROW(encode_name("a..b"), DnsError);
  EXPECT_THROW(encode_name(std::string(64, 'a')), DnsError);
}

}  // namespace
}  // namespace sandbox::netpolicy
