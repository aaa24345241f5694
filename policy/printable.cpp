#include "policy/printable.hpp"

#include <cstdio>

namespace jobwarden::policy {
namespace {

// Backs `cut` off to the start of a UTF-8 character.
std::size_t char_boundary(std::string_view text, std::size_t cut) {
  while (cut > 0 && cut < text.size() && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return cut;
}

// Length of the well-formed UTF-8 character at the start of `text` (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF) and its code
// point, or 0 when the bytes there are not one.
std::size_t utf8_length(std::string_view text, char32_t& code_point) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  std::size_t n = 0;
  char32_t min = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    n = 2, min = 0x80, code_point = lead & 0x1Fu;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    n = 3, min = 0x800, code_point = lead & 0x0Fu;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    n = 4, min = 0x10000, code_point = lead & 0x07u;
  } else {
    return 0;
  }
  if (text.size() < n) return 0;
  for (std::size_t i = 1; i < n; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i) & 0x3Fu);
  }
  if (code_point < min || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) return 0;
  return n;
}

// Characters that are well-formed but must not reach a terminal or a log
// viewer as they are: the C1 controls (U+009B is CSI in terminals that honour
// 8-bit controls, U+0085 is NEL), the Unicode line and paragraph separators
// (some viewers break lines there) and the bidirectional overrides, which
// reorder what a line shows.
bool escaped_code_point(char32_t c) {
  return (c >= 0x80 && c <= 0x9F) || c == 0x2028 || c == 0x2029 || c == 0x200E || c == 0x200F ||
         (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) || c == 0x061C;
}

void append_escaped(std::string& out, std::string_view bytes) {
  for (const char b : bytes) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(static_cast<unsigned char>(b)));
    out += buf;
  }
}

}  // namespace

std::string printable(std::string_view text, std::size_t max_bytes) {
  const bool cut = text.size() > max_bytes;
  if (cut) text = text.substr(0, char_boundary(text, max_bytes));
  std::string out;
  out.reserve(text.size() + 8);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      append_escaped(out, text.substr(i, 1));
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (char32_t code_point = 0; const std::size_t len = utf8_length(text.substr(i), code_point)) {
      if (escaped_code_point(code_point)) {
        append_escaped(out, text.substr(i, len));
      } else {
        out.append(text.substr(i, len));
      }
      i += len - 1;
    } else {
      append_escaped(out, text.substr(i, 1));  // not UTF-8: a raw 0x9b is CSI in 8-bit terminals
    }
  }
  if (cut) out += "...";
  return out;
}

std::string quoted_excerpt(std::string_view text) { return "'" + printable(text, k_max_quoted) + "'"; }

std::string name_safe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '.' || c == '-';
    out += ok ? c : '_';
  }
  return out;
}

}  // namespace jobwarden::policy
