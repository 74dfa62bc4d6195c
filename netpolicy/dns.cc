#include "netpolicy/dns.h"

#include <sys/socket.h>

#include <algorithm>
#include <cctype>

namespace sandbox::netpolicy {
namespace {

constexpr uint16_t kFlagQr = 0x8000;
constexpr uint16_t kFlagTc = 0x0200;
constexpr uint16_t kFlagRd = 0x0100;
constexpr uint16_t kFlagRa = 0x0080;
constexpr size_t kMaxNameWire = 255;  // RFC 1035 2.3.4

// A cursor over untrusted bytes: every read checks the bounds first.
class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}
  size_t pos() const { return pos_; }
  void seek(size_t pos) {
    if (pos > data_.size()) throw DnsError("offset past the end of the message");
    pos_ = pos;
  }
  void need(size_t n) const {
    if (data_.size() - pos_ < n) throw DnsError("message truncated at byte " + std::to_string(pos_));
  }
  uint8_t u8() {
    need(1);
    return data_[pos_++];
  }
  uint16_t u16() {
    need(2);
    uint16_t v = static_cast<uint16_t>(data_[pos_] << 8 | data_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  uint32_t u32() {
    uint32_t hi = u16();
    return hi << 16 | u16();
  }
  void skip(size_t n) {
    need(n);
    pos_ += n;
  }
  const uint8_t* here() const { return data_.data() + pos_; }

  // A domain name at the cursor, following compression pointers (RFC 1035 4.1.4). Each
  // pointer must point before the position it was read from, so the walk always ends.
  std::string name(bool strict_chars) {
    std::string out;
    size_t wire = 0;
    size_t resume = 0;  // where the cursor goes after the name, once a pointer was followed
    bool jumped = false;
    size_t limit = pos_;  // a pointer must point below this
    for (;;) {
      size_t at = pos_;
      uint8_t len = u8();
      if ((len & 0xc0) == 0xc0) {
        size_t target = static_cast<size_t>(len & 0x3f) << 8 | u8();
        if (target >= std::min(at, limit)) throw DnsError("compression pointer does not point backwards");
        if (!jumped) resume = pos_;
        jumped = true;
        limit = target;
        seek(target);
        continue;
      }
      if (len & 0xc0) throw DnsError("unsupported label type");
      wire += 1 + len;
      if (wire > kMaxNameWire) throw DnsError("name longer than 255 bytes");
      if (len == 0) break;
      need(len);
      if (!out.empty()) out += '.';
      for (size_t i = 0; i < len; ++i) {
        unsigned char c = data_[pos_ + i];
        bool ok = std::isalnum(c) || c == '-' || c == '_';
        if (strict_chars && !ok) throw DnsError("name has a byte other than a-z, 0-9, '-' and '_'");
        // Upstream names are only compared, never logged; keep them unambiguous anyway.
        out += ok ? static_cast<char>(std::tolower(c)) : '?';
      }
      pos_ += len;
    }
    if (jumped) pos_ = resume;
    return out;
  }

 private:
  ByteView data_;
  size_t pos_ = 0;
};

void put16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

Question read_question(Reader& r, bool strict_chars) {
  Question q;
  q.qname = r.name(strict_chars);
  q.qtype = r.u16();
  q.qclass = r.u16();
  return q;
}

}  // namespace

Bytes encode_name(const std::string& name) {
  Bytes out;
  size_t start = 0;
  while (start < name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string::npos) end = name.size();
    size_t len = end - start;
    if (len == 0 || len > 63) throw DnsError("bad label in \"" + name + "\"");
    out.push_back(static_cast<uint8_t>(len));
    out.insert(out.end(), name.begin() + start, name.begin() + end);
    start = end + 1;
  }
  out.push_back(0);
  if (out.size() > kMaxNameWire) throw DnsError("name longer than 255 bytes");
  return out;
}

uint16_t message_id(ByteView packet) {
  return packet.size() < 2 ? 0 : static_cast<uint16_t>(packet[0] << 8 | packet[1]);
}

void set_message_id(Bytes& packet, uint16_t id) {
  if (packet.size() < 2) return;
  packet[0] = static_cast<uint8_t>(id >> 8);
  packet[1] = static_cast<uint8_t>(id);
}

Query parse_query(ByteView packet) {
  Reader r(packet);
  Query q;
  q.id = r.u16();
  q.flags = r.u16();
  uint16_t qdcount = r.u16();
  r.skip(6);  // ancount, nscount, arcount: a query's extra sections (EDNS OPT) are forwarded as is
  if (q.flags & kFlagQr) throw DnsError("not a query (QR is set)");
  if ((q.flags >> 11 & 0xf) != 0)
    throw DnsError("opcode " + std::to_string(q.flags >> 11 & 0xf) + " is not QUERY");
  if (qdcount != 1) throw DnsError(std::to_string(qdcount) + " questions (expected 1)");
  q.question = read_question(r, /*strict_chars=*/true);
  q.question_end = r.pos();
  return q;
}

Bytes header_response(uint16_t id, uint16_t query_flags, Rcode rcode) {
  Bytes out;
  put16(out, id);
  // QR, the query's opcode and RD, RA, and the rcode.
  uint16_t flags =
      kFlagQr | (query_flags & 0x7800) | (query_flags & kFlagRd) | kFlagRa | static_cast<uint16_t>(rcode);
  put16(out, flags);
  for (int i = 0; i < 4; ++i) put16(out, 0);
  return out;
}

Bytes error_response(const Query& query, Rcode rcode) {
  Bytes out = header_response(query.id, query.flags, rcode);
  out[5] = 1;  // qdcount
  Bytes name = encode_name(query.question.qname);
  out.insert(out.end(), name.begin(), name.end());
  put16(out, query.question.qtype);
  put16(out, query.question.qclass);
  return out;
}

Response parse_response(ByteView packet) {
  Reader r(packet);
  Response resp;
  resp.id = r.u16();
  resp.flags = r.u16();
  uint16_t qdcount = r.u16();
  uint16_t ancount = r.u16();
  r.skip(4);  // the authority and additional sections are not read
  if (!(resp.flags & kFlagQr)) throw DnsError("not a response (QR is clear)");
  resp.rcode = static_cast<Rcode>(resp.flags & 0xf);
  resp.truncated = resp.flags & kFlagTc;
  if (qdcount != 1) throw DnsError(std::to_string(qdcount) + " questions in the response (expected 1)");
  resp.question = read_question(r, /*strict_chars=*/false);
  for (uint16_t i = 0; i < ancount; ++i) {
    r.name(/*strict_chars=*/false);
    uint16_t type = r.u16();
    uint16_t cls = r.u16();
    uint32_t ttl = r.u32();
    uint16_t rdlength = r.u16();
    r.need(rdlength);
    // RFC 2181 8: a TTL with the top bit set is treated as zero.
    if (ttl & 0x80000000u) ttl = 0;
    if (cls == kClassIn && (type == kTypeA || type == kTypeAaaa)) {
      size_t size = type == kTypeA ? 4 : 16;
      if (rdlength != size)
        throw DnsError(qtype_name(type) + " record with " + std::to_string(rdlength) + " bytes of data");
      ResolvedAddress a;
      a.address.family = type == kTypeA ? AF_INET : AF_INET6;
      std::copy(r.here(), r.here() + size, a.address.bytes.begin());
      a.ttl = ttl;
      resp.addresses.push_back(a);
    }
    r.skip(rdlength);
  }
  return resp;
}

std::string qtype_name(uint16_t qtype) {
  switch (qtype) {
    case 1:
      return "A";
    case 2:
      return "NS";
    case 5:
      return "CNAME";
    case 6:
      return "SOA";
    case 12:
      return "PTR";
    case 15:
      return "MX";
    case 16:
      return "TXT";
    case 28:
      return "AAAA";
    case 33:
      return "SRV";
    case 64:
      return "SVCB";
    case 65:
      return "HTTPS";
    case 255:
      return "ANY";
    default:
      return "TYPE" + std::to_string(qtype);
  }
}

}  // namespace sandbox::netpolicy
