#pragma once
// Untrusted text (policy values, CI variables, step names, paths) quoted back
// in jobwarden's own lines and messages: bounded and with every control
// character escaped, so it can neither flood the log nor start a line of its
// own (a forged `jobwarden:` line, a GitLab section marker, a GitHub `::`
// command) nor move the cursor.

#include <cstddef>
#include <string>
#include <string_view>

namespace jobwarden::policy {

// Bytes of a user's text quoted back in a policy error.
inline constexpr std::size_t k_max_quoted = 40;

// `text` with bytes below 0x20 and 0x7f written as \xNN (a backslash as \\),
// and so are, byte by byte, the C1 controls U+0080..U+009F (U+009B is CSI to
// terminals that honour 8-bit controls), the line/paragraph separators
// U+2028/U+2029, the bidirectional controls (U+061C, U+200E/F,
// U+202A..U+202E, U+2066..U+2069) and every byte that is not part of
// well-formed UTF-8 (a raw 0x9b included). Other UTF-8 is kept. Cut after
// `max_bytes` of input (at a UTF-8 character boundary) with "..." appended.
// Colours too are escaped (an SGR sequence can conceal text or paint it as
// jobwarden's own verdict): a caller that colours a line adds its own
// sequences around what this returns.
std::string printable(std::string_view text, std::size_t max_bytes = std::string_view::npos);

// 'text', with at most k_max_quoted bytes of it, through printable().
std::string quoted_excerpt(std::string_view text);

// Untrusted text used as a name where only [A-Za-z0-9_.-] is safe (a GitLab
// log-section name, a directory name): every other byte becomes '_'.
std::string name_safe(std::string_view text);

}  // namespace jobwarden::policy
