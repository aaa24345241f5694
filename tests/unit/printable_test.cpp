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

TEST_CASE("C1 controls, separators, bidi overrides and bytes that are not UTF-8 are escaped byte by byte") {
  // U+009B (CSI) and U+0085 (NEL) as UTF-8: a terminal that honours 8-bit
  // controls would move the cursor / start a line.
  CHECK(printable("a\xc2\x9b" "2Kb\xc2\x85" "c") == "a\\xc2\\x9b2Kb\\xc2\\x85c");
  CHECK(printable("\xc2\x80\xc2\x9f") == "\\xc2\\x80\\xc2\\x9f");
  CHECK(printable("\xc2\xa0nbsp") == "\xc2\xa0nbsp");  // U+00A0 is the first character kept
  // Raw C1 bytes and other malformed UTF-8: lone continuation bytes, an
  // overlong '/', a surrogate, a truncated sequence.
  CHECK(printable("x\x9b" "31my") == "x\\x9b31my");
  CHECK(printable("\x85\xff\xc0\xaf") == "\\x85\\xff\\xc0\\xaf");
  CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");
  CHECK(printable("end\xe2\x82") == "end\\xe2\\x82");
  // Line separator and a right-to-left override; other multi-byte text stays.
  CHECK(printable("a\xe2\x80\xa8" "b\xe2\x80\xae" "c") == "a\\xe2\\x80\\xa8b\\xe2\\x80\\xaec");
  CHECK(printable("\xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x96\x81") == "\xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x96\x81");
}

TEST_CASE("text is cut at the bound, at a character boundary, and says so") {
  CHECK(printable("abcdef", 3) == "abc...");
  CHECK(printable("ab\xc3\xa9z", 3) == "ab...");  // never half of the two-byte e-acute
  CHECK(printable("abc", 3) == "abc");
  CHECK(quoted_excerpt(std::string(100, 'x')) == "'" + std::string(40, 'x') + "...'");
}

TEST_CASE("colours are escaped like every other sequence: quoted text cannot conceal or repaint a line") {
  CHECK(printable("\x1b[31;1mred\x1b[0m") == "\\x1b[31;1mred\\x1b[0m");
  CHECK(printable("\x1b[8mhidden") == "\\x1b[8mhidden");
  CHECK(printable("\x1b[0Kerase\x1b]0;t\x07") == "\\x1b[0Kerase\\x1b]0;t\\x07");
}

TEST_CASE("name_safe keeps [A-Za-z0-9_.-] and makes every other byte '_'") {
  CHECK(name_safe("build_script.x-1") == "build_script.x-1");
  CHECK(name_safe("a b/c\nd\xc3\xa9:") == "a_b_c_d___");
  CHECK(name_safe("") == "");
}
