#include "policy/duration.hpp"

#include "policy/printable.hpp"

#include <array>
#include <cstdio>
#include <limits>

namespace jobwarden::policy {
namespace {

struct Unit {
  std::string_view name;
  long long ms;
};

// Longest names first so that "ms" is not read as "m" followed by "s".
constexpr std::array<Unit, 4> k_units{{{"ms", 1}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1000}}};
constexpr long long k_max_ms = 366LL * 24 * 3'600'000;  // a year: beyond any CI job

Unexpected<std::string> fail(std::string_view text, std::string_view why) {
  return unexpected("invalid duration " + quoted_excerpt(text) + ": " + std::string(why) +
                    " (expected e.g. 500ms, 90s, 15m, 1h30m)");
}

const Unit* match_unit(std::string_view rest) {
  for (const auto& u : k_units) {
    if (rest.substr(0, u.name.size()) == u.name) return &u;
  }
  return nullptr;
}

}  // namespace

DurationParse parse_duration(std::string_view text) {
  if (text.empty()) return fail(text, "empty");
  std::size_t i = 0;
  long long total = 0;
  long long last_unit = std::numeric_limits<long long>::max();
  bool had_fraction = false;
  while (i < text.size()) {
    if (had_fraction) return fail(text, "a fraction is allowed only on the last component");
    long long whole = 0;
    std::size_t digits = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
      whole = whole * 10 + (text[i] - '0');
      if (whole > k_max_ms) return fail(text, "too large");
    }
    double fraction = 0.0;
    if (i < text.size() && text[i] == '.') {
      double scale = 0.1;
      std::size_t fdigits = 0;
      for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++fdigits) {
        fraction += (text[i] - '0') * scale;
        scale /= 10;
      }
      if (fdigits == 0) return fail(text, "digits expected after '.'");
      had_fraction = true;
    }
    if (digits == 0 && !had_fraction) return fail(text, "a number expected");
    const Unit* unit = match_unit(text.substr(i));
    if (unit == nullptr) return fail(text, "a unit (ms, s, m, h) expected after each number");
    if (unit->ms >= last_unit) return fail(text, "units must go from larger to smaller, once each");
    last_unit = unit->ms;
    i += unit->name.size();
    total += whole * unit->ms + static_cast<long long>(fraction * static_cast<double>(unit->ms));
    if (total > k_max_ms) return fail(text, "too large (at most 366 days)");
  }
  if (total <= 0) return fail(text, "must be positive");
  return Duration(total);
}

std::string format_duration(Duration d) {
  long long ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  if (ms % 1000 != 0 && ms < 60'000) {
    if (ms < 1000) return out + std::to_string(ms) + "ms";
    return out + format_seconds(static_cast<double>(ms) / 1000.0);
  }
  const long long h = ms / 3'600'000;
  const long long m = (ms / 60'000) % 60;
  const long long s = (ms / 1000) % 60;
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (s) out += std::to_string(s) + "s";
  if (ms % 1000) out += std::to_string(ms % 1000) + "ms";
  return out;
}

std::string format_seconds(double seconds) {
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%.2fs", seconds);
  return buf.data();
}

std::string format_percent(double fraction) {
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%.0f%%", fraction * 100.0);
  return buf.data();
}

}  // namespace jobwarden::policy
