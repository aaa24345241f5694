#include "policy/printable.hpp"

#include <cstdio>

namespace jobwarden::policy {
namespace {

// Length of an SGR sequence (ESC [ [0-9;]* m) at the start of `text`, or 0.
std::size_t sgr_length(std::string_view text) {
  if (text.size() < 3 || text[0] != '\x1b' || text[1] != '[') return 0;
  for (std::size_t i = 2; i < text.size() && i < 32; ++i) {
    if (text[i] == 'm') return i + 1;
    if (!((text[i] >= '0' && text[i] <= '9') || text[i] == ';')) return 0;
  }
  return 0;
}

// Backs `cut` off to the start of a UTF-8 character.
std::size_t char_boundary(std::string_view text, std::size_t cut) {
  while (cut > 0 && cut < text.size() && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return cut;
}

}  // namespace

std::string printable(std::string_view text, std::size_t max_bytes, bool keep_colours) {
  const bool cut = text.size() > max_bytes;
  if (cut) text = text.substr(0, char_boundary(text, max_bytes));
  std::string out;
  out.reserve(text.size() + 8);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (const std::size_t n = keep_colours ? sgr_length(text.substr(i)) : 0; n > 0) {
      out.append(text.substr(i, n));
      i += n - 1;
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      out += buf;
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      out += static_cast<char>(c);
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
