#include <doctest/doctest.h>

#include "policy/signal_names.hpp"

using namespace jobwarden::policy;

TEST_CASE("signal names and numbers convert both ways") {
  CHECK(signal_name(9) == "SIGKILL");
  CHECK(signal_name(15) == "SIGTERM");
  CHECK(signal_name(40) == "SIG40");
  CHECK(parse_signal("SIGKILL") == 9);
  CHECK(parse_signal("kill") == 9);
  CHECK(parse_signal("Term") == 15);
  CHECK(parse_signal("11") == 11);
  CHECK_FALSE(parse_signal("SIGFOO").has_value());
  CHECK_FALSE(parse_signal("0").has_value());
  CHECK_FALSE(parse_signal("9x").has_value());
}
