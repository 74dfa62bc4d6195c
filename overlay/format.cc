#include "overlay/format.h"

#include <cstdio>
#include <map>

namespace sandbox::overlay {

namespace {

char kind_letter(Change::Kind k) {
  switch (k) {
    case Change::kAdded: return 'A';
    case Change::kModified: return 'M';
    case Change::kDeleted: return 'D';
    case Change::kTypeChanged: return 'T';
    case Change::kMetadata: return 'm';
    case Change::kOpaque: return 'O';
    case Change::kUnchanged: return '=';
  }
  return '?';
}

std::string octal_mode(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

std::string mode_change(const Change& c) {
  return "mode " + octal_mode(c.lower_mode) + " -> " + octal_mode(c.upper_mode);
}

std::string details(const Change& c) {
  std::vector<std::string> parts;
  switch (c.kind) {
    case Change::kAdded:
      if (c.upper_type == 'f') parts.push_back(format_size(c.upper_size));
      else if (c.upper_type == 'l') parts.push_back("-> " + quote_path(c.link_target));
      else if (c.upper_type != 'd') parts.push_back(type_name(c.upper_type));
      break;
    case Change::kModified:
      if (c.upper_type == 'l')
        parts.push_back("target " + quote_path(c.lower_link_target) + " -> " +
                        quote_path(c.link_target));
      else
        parts.push_back(format_size(c.lower_size) + " -> " + format_size(c.upper_size));
      if (c.mode_changed) parts.push_back(mode_change(c));
      break;
    case Change::kDeleted:
      if (c.lower_type == 'd' && c.lower_entries > 0)
        parts.push_back(std::to_string(c.lower_entries) +
                        (c.lower_entries == 1 ? " entry, " : " entries, ") +
                        format_size(c.lower_size));
      break;
    case Change::kTypeChanged:
      parts.push_back(std::string(type_name(c.lower_type)) + " -> " + type_name(c.upper_type));
      break;
    case Change::kMetadata:
      if (c.mode_changed) parts.push_back(mode_change(c));
      if (c.mtime_changed) parts.push_back("mtime");
      break;
    case Change::kOpaque:
      parts.push_back("replaced: old contents dropped");
      if (c.mode_changed) parts.push_back(mode_change(c));
      break;
    case Change::kUnchanged:
      parts.push_back("same as the real home");
      break;
  }
  if (parts.empty()) return "";
  std::string out = "  (";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out + ")";
}

void append_hex(std::string& out, const std::string& bytes) {
  static const char* kHex = "0123456789abcdef";
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
}

// Length of the valid UTF-8 sequence at s[i], or 0.
size_t utf8_seq(const std::string& s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t len;
  unsigned min;
  unsigned cp;
  if ((c & 0xe0) == 0xc0) len = 2, min = 0x80, cp = c & 0x1f;
  else if ((c & 0xf0) == 0xe0) len = 3, min = 0x800, cp = c & 0x0f;
  else if ((c & 0xf8) == 0xf0) len = 4, min = 0x10000, cp = c & 0x07;
  else return 0;
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

}  // namespace

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_seq(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string quote_path(const std::string& path) {
  bool needs = false;
  for (unsigned char b : path)
    if (b <= 0x20 || b >= 0x7f || b == '"' || b == '\\') needs = true;
  if (!needs) return path;
  std::string out = "\"";
  for (unsigned char b : path) {
    switch (b) {
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\v': out += "\\v"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        if (b < 0x20 || b >= 0x7f) {
          char buf[5];
          std::snprintf(buf, sizeof(buf), "\\%03o", b);
          out += buf;
        } else {
          out += static_cast<char>(b);
        }
    }
  }
  return out + "\"";
}

std::string format_size(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  static const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes) / 1024.0;
  size_t u = 0;
  while (v >= 1024.0 && u + 1 < sizeof(kUnits) / sizeof(kUnits[0])) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  std::string num = buf;
  if (num.size() > 2 && num.compare(num.size() - 2, 2, ".0") == 0) num.resize(num.size() - 2);
  return num + " " + kUnits[u];
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_seq(s, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    const unsigned char b = static_cast<unsigned char>(s[i]);
    if (n == 1) {
      switch (b) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (b < 0x20 || b == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\u%04x", b);
            out += buf;
          } else {
            out += static_cast<char>(b);
          }
      }
    } else {
      out.append(s, i, n);
    }
    i += n;
  }
  return out + "\"";
}

size_t count_visible(const std::vector<Change>& changes) {
  size_t n = 0;
  for (const auto& c : changes) n += c.kind != Change::kUnchanged;
  return n;
}

std::string format_change(const Change& c) {
  std::string line;
  line += kind_letter(c.kind);
  line += (c.conflict || c.refused) ? '!' : ' ';
  line += ' ';
  line += quote_path(c.is_dir() ? c.path + "/" : c.path);
  line += details(c);
  if (c.refused) line += "  [refused: " + c.conflict_reason + "]";
  else if (c.conflict) line += "  [conflict: " + c.conflict_reason + "]";
  return line + "\n";
}

std::string format_diff(const std::vector<Change>& changes, DiffStyle style) {
  std::string out;
  if (style == DiffStyle::kPlain) {
    for (const auto& c : changes)
      if (c.kind != Change::kUnchanged) out += format_change(c);
    return out;
  }
  struct Row {
    size_t count = 0;
    uint64_t bytes = 0;
  };
  std::map<Change::Kind, Row> rows;
  size_t conflicts = 0, refused = 0, total = 0;
  uint64_t write_bytes = 0, delete_bytes = 0;
  for (const auto& c : changes) {
    Row& r = rows[c.kind];
    ++r.count;
    if (c.kind == Change::kDeleted) {
      r.bytes += c.lower_size;
      delete_bytes += c.lower_size;
    } else if (c.kind != Change::kUnchanged && c.kind != Change::kMetadata) {
      r.bytes += c.upper_size;
      write_bytes += c.upper_size;
    }
    if (c.kind == Change::kUnchanged) continue;
    ++total;
    conflicts += c.conflict && !c.refused;
    refused += c.refused;
  }
  if (total == 0 && rows.empty()) return "";
  static const std::pair<Change::Kind, const char*> kOrder[] = {
      {Change::kAdded, "added"},         {Change::kModified, "modified"},
      {Change::kDeleted, "deleted"},     {Change::kTypeChanged, "type changed"},
      {Change::kMetadata, "metadata"},   {Change::kOpaque, "replaced dirs"}};
  char buf[160];
  for (const auto& [kind, label] : kOrder) {
    const auto it = rows.find(kind);
    if (it == rows.end()) continue;
    const bool sized = kind != Change::kMetadata && kind != Change::kOpaque;
    std::snprintf(buf, sizeof(buf), "%-14s %7zu%s%s\n", label, it->second.count,
                  sized ? "  " : "", sized ? format_size(it->second.bytes).c_str() : "");
    out += buf;
  }
  std::snprintf(buf, sizeof(buf), "%-14s %7zu  %s to write, %s to delete\n", "total", total,
                format_size(write_bytes).c_str(), format_size(delete_bytes).c_str());
  out += buf;
  if (conflicts) {
    std::snprintf(buf, sizeof(buf), "%-14s %7zu  (commit refuses them without --force)\n",
                  "conflicts", conflicts);
    out += buf;
  }
  if (refused) {
    std::snprintf(buf, sizeof(buf), "%-14s %7zu  (never committed)\n", "refused", refused);
    out += buf;
  }
  if (const auto it = rows.find(Change::kUnchanged); it != rows.end()) {
    std::snprintf(buf, sizeof(buf), "%-14s %7zu  (same as the real home; commit drops them)\n",
                  "unchanged", it->second.count);
    out += buf;
  }
  return out;
}

std::string format_json(const std::vector<Change>& changes) {
  if (changes.empty()) return "[]\n";
  std::string out = "[\n";
  for (size_t i = 0; i < changes.size(); ++i) {
    const Change& c = changes[i];
    std::string o = "  {\"path\": " + json_string(c.path);
    if (!valid_utf8(c.path)) {
      o += ", \"path_bytes_hex\": \"";
      append_hex(o, c.path);
      o += "\"";
    }
    o += std::string(", \"kind\": \"") + kind_name(c.kind) + "\"";
    const auto type = [](char t) {
      return t == '-' ? std::string("null") : "\"" + std::string(type_name(t)) + "\"";
    };
    o += ", \"upper_type\": " + type(c.upper_type) + ", \"lower_type\": " + type(c.lower_type);
    o += ", \"upper_mode\": " + (c.upper_type == '-' ? "null" : "\"" + octal_mode(c.upper_mode) + "\"");
    o += ", \"lower_mode\": " + (c.lower_type == '-' ? "null" : "\"" + octal_mode(c.lower_mode) + "\"");
    o += ", \"upper_size\": " + std::to_string(c.upper_size);
    o += ", \"lower_size\": " + std::to_string(c.lower_size);
    if (c.lower_type == 'd' && (c.kind == Change::kDeleted || c.kind == Change::kTypeChanged))
      o += ", \"lower_entries\": " + std::to_string(c.lower_entries);
    const auto target = [&](const char* key, const std::string& t) {
      o += std::string(", \"") + key + "\": " + json_string(t);
      if (!valid_utf8(t)) {
        o += std::string(", \"") + key + "_bytes_hex\": \"";
        append_hex(o, t);
        o += "\"";
      }
    };
    if (c.upper_type == 'l') target("link_target", c.link_target);
    if (c.lower_type == 'l') target("lower_link_target", c.lower_link_target);
    const auto flag = [&](const char* key, bool v) {
      o += std::string(", \"") + key + "\": " + (v ? "true" : "false");
    };
    flag("mode_changed", c.mode_changed);
    flag("mtime_changed", c.mtime_changed);
    flag("unchanged_content", c.unchanged_content);
    flag("implicit", c.implicit);
    flag("conflict", c.conflict);
    flag("refused", c.refused);
    o += ", \"reason\": " + (c.conflict_reason.empty() ? "null" : json_string(c.conflict_reason));
    o += std::string(", \"time_basis\": \"") +
         (c.time_basis == TimeBasis::kBirthTime ? "btime" : "ctime") + "\"}";
    out += o + (i + 1 < changes.size() ? ",\n" : "\n");
  }
  return out + "]\n";
}

}  // namespace sandbox::overlay
