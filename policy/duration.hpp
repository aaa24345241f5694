#pragma once
// Durations as users write them in policies and on the command line:
// "500ms", "90s", "15m", "1h30m", "2h", "1.5s". A bare number is rejected
// (is "30" seconds or minutes?), as are zero, negatives and overflow.

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace jobwarden::policy {

using Duration = std::chrono::milliseconds;

// The duration, or what was expected instead (the text quoted, at most 40 bytes).
using DurationParse = Result<Duration, std::string>;

// Parses a positive duration. Units: ms, s, m, h; components in decreasing
// unit order, each at most once; fractions only on the last component.
DurationParse parse_duration(std::string_view text);

// Renders a duration compactly and exactly: 500ms, 90s -> "1m30s", 1h30m.
std::string format_duration(Duration d);

// Renders seconds with two decimals for measured values: "2.03s".
std::string format_seconds(double seconds);

// Renders a fraction as a whole percentage: 0.253 -> "25%".
std::string format_percent(double fraction);

}  // namespace jobwarden::policy
