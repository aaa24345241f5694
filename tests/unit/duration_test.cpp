#include <doctest/doctest.h>

#include "policy/duration.hpp"

using namespace jobwarden::policy;

TEST_CASE("durations parse as users write them") {
  struct Row {
    const char* text;
    long long ms;
  };
  for (const Row& r : {Row{"500ms", 500}, Row{"90s", 90'000}, Row{"15m", 900'000},
                       Row{"1h30m", 5'400'000}, Row{"2h", 7'200'000}, Row{"1.5s", 1500},
                       Row{"1m30s", 90'000}, Row{"1h2m3s4ms", 3'723'004}}) {
    CAPTURE(r.text);
    const auto d = parse_duration(r.text);
    REQUIRE(d.ok());
    CHECK(d->count() == r.ms);
  }
}

TEST_CASE("invalid durations are rejected with what was expected") {
  for (const char* text : {"", "30", "0s", "-5s", "5x", "1s1m", "1m1m", "1.5m30s", "s", "1.s",
                           "99999999h", "1 s"}) {
    CAPTURE(text);
    const auto d = parse_duration(text);
    CHECK_FALSE(d.ok());
    CHECK(d.error().find("expected e.g.") != std::string::npos);
  }
}

TEST_CASE("durations format compactly and round-trip") {
  CHECK(format_duration(Duration{500}) == "500ms");
  CHECK(format_duration(Duration{90'000}) == "1m30s");
  CHECK(format_duration(Duration{5'400'000}) == "1h30m");
  CHECK(format_duration(Duration{2500}) == "2.50s");
  CHECK(format_duration(Duration{61'500}) == "1m1s500ms");
  for (long long ms : {1LL, 999LL, 1000LL, 61'000LL, 61'500LL, 3'600'000LL, 86'400'000LL, 3'723'004LL}) {
    const auto back = parse_duration(format_duration(Duration{ms}));
    REQUIRE(back.ok());
    CHECK(back->count() == ms);
  }
}

TEST_CASE("fractions format as whole percentages, rounded") {
  CHECK(format_percent(0.253) == "25%");
  CHECK(format_percent(0.5) == "50%");
  CHECK(format_percent(1.0) == "100%");
  CHECK(format_percent(0.0) == "0%");
}
