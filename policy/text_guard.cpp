#include "policy/text_guard.hpp"

#include <array>
#include <cstdio>
#include <vector>

namespace jobwarden::policy {
namespace {

std::string hex_byte(unsigned char b) {
  std::array<char, 8> buf{};
  std::snprintf(buf.data(), buf.size(), "0x%02x", static_cast<unsigned>(b));
  return buf.data();
}

// Length of the UTF-8 sequence at `s` (1..4), or 0 when it is invalid:
// overlong forms, surrogates and code points above U+10FFFF are invalid.
std::size_t utf8_length(std::string_view s) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b = byte(0);
  if (b < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) {
    n = 2;
  } else if (b >= 0xe0 && b <= 0xef) {
    n = 3;
    lo = b == 0xe0 ? 0xa0 : 0x80;
    hi = b == 0xed ? 0x9f : 0xbf;
  } else if (b >= 0xf0 && b <= 0xf4) {
    n = 4;
    lo = b == 0xf0 ? 0x90 : 0x80;
    hi = b == 0xf4 ? 0x8f : 0xbf;
  } else {
    return 0;
  }
  if (s.size() < n || byte(1) < lo || byte(1) > hi) return 0;
  for (std::size_t i = 2; i < n; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
  }
  return n;
}

// YAML 1.2's printable set (its c-printable production) without the C0 controls but tab, LF and CR.
bool is_control(unsigned char b) {
  return (b < 0x20 && b != '\t' && b != '\n' && b != '\r') || b == 0x7f;
}

// State of the nesting estimate, carried from line to line.
struct NestingState {
  char quote = 0;                // ' or " while inside a quoted scalar (may span lines)
  int flow = 0;                  // open [ and { brackets
  std::vector<int> indents;      // columns of the enclosing block levels
  int block_scalar_indent = -1;  // >= 0 inside a | or > scalar whose header line had this indent
  int line_number = 0;
  std::string_view what;  // "a policy", for messages
};

bool is_space(char c) { return c == ' ' || c == '\t'; }

bool at_token_start(std::string_view line, std::size_t i) {
  if (i == 0) return true;
  const char p = line[i - 1];
  return is_space(p) || p == '[' || p == '{' || p == ',';
}

bool is_block_indicator(std::string_view line, std::size_t i) {
  const char c = line[i];
  const bool followed_by_space = i + 1 == line.size() || is_space(line[i + 1]);
  if (c == ':') return followed_by_space;
  return (c == '-' || c == '?') && followed_by_space && at_token_start(line, i);
}

// Skips through a quoted scalar from `i`; returns the index after its end, or
// line.size() with state.quote still set when it continues on the next line.
std::size_t skip_quoted(NestingState& st, std::string_view line, std::size_t i) {
  for (; i < line.size(); ++i) {
    const char c = line[i];
    const bool escape = st.quote == '"' && c == '\\';  // \" inside "..."
    const bool doubled =
        st.quote == '\'' && c == '\'' && i + 1 < line.size() && line[i + 1] == '\'';
    if (escape || doubled) {
      ++i;  // skip the escaped character
    } else if (c == st.quote) {
      st.quote = 0;
      return i + 1;
    }
  }
  return i;
}

// Block levels nest by indentation (a list may share its parent key's column:
// the estimate then counts one level for both, and the block indicators on the
// line make up for it).
void track_indentation(NestingState& st, std::size_t first) {
  const int indent = static_cast<int>(first);
  while (!st.indents.empty() && st.indents.back() > indent) st.indents.pop_back();
  if (st.indents.empty() || st.indents.back() < indent) st.indents.push_back(indent);
}

// A tab before the first token of a line (a tab-only or comment line is fine).
// yaml-cpp reports this as "illegal map value", a few columns later.
bool indented_by_tab(std::string_view line, std::size_t first) {
  if (line[first] != '\t') return false;
  const std::size_t token = line.find_first_not_of(" \t", first);
  return token != std::string_view::npos && line[token] != '#';
}

// A line whose last token is a block scalar header (|, >, |-, >+2...).
bool ends_with_block_scalar_header(std::string_view significant) {
  while (!significant.empty() && is_space(significant.back())) significant.remove_suffix(1);
  const std::size_t start = significant.find_last_of(" \t");
  const std::string_view token =
      start == std::string_view::npos ? significant : significant.substr(start + 1);
  if (token.empty() || (token[0] != '|' && token[0] != '>')) return false;
  return token.find_first_not_of("-+0123456789", 1) == std::string_view::npos;
}

std::optional<TextProblem> too_deep(const NestingState& st, std::size_t i) {
  return TextProblem{st.line_number, static_cast<int>(i) + 1,
                     "nesting deeper than " + std::to_string(k_max_policy_nesting) +
                         " levels (a real file needs about 6): not " + std::string(st.what) +
                         " file"};
}

// Accounts for the character at `i` (outside quotes and comments): opens a
// quote, opens or closes a flow collection; returns 1 for a block indicator.
int scan_char(NestingState& st, std::string_view line, std::size_t i) {
  const char c = line[i];
  if ((c == '\'' || c == '"') && at_token_start(line, i)) {
    st.quote = c;
  } else if ((c == '[' || c == '{') && (at_token_start(line, i) || line[i - 1] == ':')) {
    ++st.flow;
  } else if ((c == ']' || c == '}') && st.flow > 0) {
    --st.flow;
  } else if (st.flow == 0 && is_block_indicator(line, i)) {
    return 1;
  }
  return 0;
}

// Scans one line from `i`; returns a problem when the estimate goes too deep.
std::optional<TextProblem> scan_line(NestingState& st, std::string_view line, std::size_t i) {
  int indicators = 0;
  std::size_t significant_end = line.size();
  const auto depth = [&] { return static_cast<int>(st.indents.size()) + indicators + st.flow; };
  while (i < line.size()) {
    if (st.quote != 0) {
      i = skip_quoted(st, line, i);
      continue;
    }
    if (line[i] == '#' && (i == 0 || is_space(line[i - 1]))) {
      significant_end = i;
      break;
    }
    indicators += scan_char(st, line, i);
    if (depth() > k_max_policy_nesting) return too_deep(st, i);
    ++i;
  }
  if (st.quote == 0 && st.flow == 0 &&
      ends_with_block_scalar_header(line.substr(0, significant_end))) {
    st.block_scalar_indent = st.indents.empty() ? 0 : st.indents.back();
  }
  return std::nullopt;
}

std::optional<TextProblem> process_line(NestingState& st, std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const std::size_t first = line.find_first_not_of(' ');
  const bool blank = first == std::string_view::npos || line[first] == '#';
  if (st.block_scalar_indent >= 0) {
    if (blank || static_cast<int>(first) > st.block_scalar_indent) return std::nullopt;
    st.block_scalar_indent = -1;
  }
  if (blank && st.quote == 0) return std::nullopt;
  if (st.quote == 0 && st.flow == 0) {
    if (indented_by_tab(line, first)) {
      return TextProblem{st.line_number, static_cast<int>(first) + 1,
                         "a tab in the indentation: YAML indents with spaces only"};
    }
    track_indentation(st, first);
  }
  return scan_line(st, line, st.quote == 0 ? first : 0);
}

}  // namespace

std::optional<TextProblem> find_encoding_problem(std::string_view text, std::string_view what) {
  const std::string must = ": " + std::string(what) + " must be UTF-8 text";
  int line = 1;
  int column = 1;
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b == 0) return TextProblem{line, column, "NUL byte" + must};
    if (is_control(b)) {
      return TextProblem{line, column, "control character " + hex_byte(b) + must};
    }
    const std::size_t n = utf8_length(text.substr(i));
    if (n == 0) {
      return TextProblem{line, column, "invalid UTF-8 byte " + hex_byte(b) + must};
    }
    if (b == '\n') {
      ++line;
      column = 1;
    } else {
      column += static_cast<int>(n);
    }
    i += n;
  }
  return std::nullopt;
}

std::optional<TextProblem> find_layout_problem(std::string_view text, std::string_view what) {
  NestingState st;
  st.what = what;
  while (!text.empty()) {
    ++st.line_number;
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    if (auto problem = process_line(st, line)) return problem;
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return std::nullopt;
}

}  // namespace jobwarden::policy
