#include "executor/core/redactor.hpp"

#include <algorithm>
#include <cstdio>

#include "policy/printable.hpp"

namespace jobwarden::core {

std::string json_escaped(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string label_escaped(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    out += c == '\n' ? std::string("\\n") : std::string(1, c);
  }
  return out;
}

bool Redactor::add_secret(std::string_view value) {
  if (value.size() < k_min_secret_length) return false;
  // policy::printable's form: how a policy error or a quoted value shows it;
  // and that form escaped again, as the alert and the metrics carry it.
  const std::string shown = policy::printable(value);
  for (std::string form : {std::string(value), json_escaped(value), label_escaped(value), shown, json_escaped(shown),
                           label_escaped(shown)}) {
    if (std::find(m_needles.begin(), m_needles.end(), form) == m_needles.end()) m_needles.push_back(form);
  }
  std::stable_sort(m_needles.begin(), m_needles.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return true;
}

std::string Redactor::redact(std::string_view text) const {
  std::string out(text);
  for (const std::string& needle : m_needles) {
    for (std::size_t at = out.find(needle); at != std::string::npos; at = out.find(needle, at + k_masked.size())) {
      out.replace(at, needle.size(), k_masked);
    }
  }
  // A secret cut at a marked cut: its longest prefix right before the marker.
  for (std::size_t cut = out.find(k_cut_marker); cut != std::string::npos; cut = out.find(k_cut_marker, cut + 1)) {
    for (const std::string& needle : m_needles) {
      std::size_t n = std::min(needle.size() - 1, cut);
      while (n >= k_min_cut_fragment && out.compare(cut - n, n, needle, 0, n) != 0) --n;
      if (n >= k_min_cut_fragment) {
        out.replace(cut - n, n, k_masked);
        cut = cut - n + k_masked.size();
        break;
      }
    }
  }
  return out;
}

std::string Redactor::redact_tail(std::string_view text) const {
  std::string out = redact(text);
  for (const std::string& needle : m_needles) {
    std::size_t n = std::min(needle.size() - 1, out.size());
    while (n > 0 && out.compare(0, n, needle, needle.size() - n, n) != 0) --n;
    if (n > 0) return out.replace(0, n, k_masked);
  }
  return out;
}

}  // namespace jobwarden::core
