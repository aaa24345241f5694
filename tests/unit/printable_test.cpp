// Quoting untrusted text back into the job log.
#include <doctest/doctest.h>

#include "policy/printable.hpp"

using jobwarden::policy::printable;
using jobwarden::policy::name_safe;
using jobwarden::policy::quoted_excerpt;

TEST_CASE("control characters are escaped, a backslash is doubled, the rest is kept") {
  CHECK(printable("a\nb\rc\x1b[2Kd\x7f\\e") == "a\\x0ab\\x0dc\\x1b[2Kd\\x7f\\\\e");
  CHECK(printable("tab\there") == "tab\\x09here");
  CHECK(printable("caf\xc3\xa9") == "caf\xc3\xa9");
}

TEST_CASE("text is cut at the bound, at a character boundary, and says so") {
  CHECK(printable("abcdef", 3) == "abc...");
  CHECK(printable("ab\xc3\xa9z", 3) == "ab...");  // never half of the two-byte e-acute
  CHECK(printable("abc", 3) == "abc");
  CHECK(quoted_excerpt(std::string(100, 'x')) == "'" + std::string(40, 'x') + "...'");
}

TEST_CASE("colours survive only when asked for, and only SGR sequences") {
  CHECK(printable("\x1b[31;1mred\x1b[0m", std::string::npos, true) == "\x1b[31;1mred\x1b[0m");
  CHECK(printable("\x1b[31;1mred", std::string::npos, false) == "\\x1b[31;1mred");
  CHECK(printable("\x1b[0Kerase\x1b]0;t\x07", std::string::npos, true) == "\\x1b[0Kerase\\x1b]0;t\\x07");
}

TEST_CASE("name_safe keeps [A-Za-z0-9_.-] and makes every other byte '_'") {
  CHECK(name_safe("build_script.x-1") == "build_script.x-1");
  CHECK(name_safe("a b/c\nd\xc3\xa9:") == "a_b_c_d___");
  CHECK(name_safe("") == "");
}
