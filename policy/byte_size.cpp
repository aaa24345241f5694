#include "policy/byte_size.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace jobwarden::policy {
namespace {

struct Unit {
  std::string_view name;
  ByteSize bytes;
};

constexpr std::array<Unit, 4> k_units{{{"KiB", 1ULL << 10}, {"MiB", 1ULL << 20}, {"GiB", 1ULL << 30}, {"TiB", 1ULL << 40}}};
constexpr ByteSize k_min = 1ULL << 20;
constexpr ByteSize k_max = 1ULL << 50;

}  // namespace

ByteSizeParse parse_byte_size(std::string_view text) {
  const std::string expected = "expected a memory size such as 512MiB or 2GiB (units KiB, MiB, GiB, TiB; 1MiB to 1024TiB)";
  std::size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
  std::string_view unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  const std::string number(text.substr(0, i));
  char* end = nullptr;
  const double value = number.empty() ? -1.0 : std::strtod(number.c_str(), &end);
  const Unit* found = nullptr;
  for (const Unit& u : k_units) {
    if (u.name == unit) found = &u;
  }
  if (found == nullptr || end == nullptr || *end != '\0' || !(value > 0.0)) {
    return unexpected(expected + ", got '" + std::string(text) + "'");
  }
  const double bytes = std::floor(value * static_cast<double>(found->bytes));
  if (bytes < static_cast<double>(k_min) || bytes > static_cast<double>(k_max)) {
    return unexpected(expected + ", got '" + std::string(text) + "'");
  }
  return static_cast<ByteSize>(bytes);
}

std::string format_byte_size(ByteSize bytes) {
  const Unit* unit = &k_units[0];
  for (const Unit& u : k_units) {
    if (bytes >= u.bytes) unit = &u;
  }
  const double value = static_cast<double>(bytes) / static_cast<double>(unit->bytes);
  char buf[48];
  if (bytes % unit->bytes == 0) {
    std::snprintf(buf, sizeof buf, "%.0f%s", value, std::string(unit->name).c_str());
  } else {
    std::snprintf(buf, sizeof buf, "%.1f%s", value, std::string(unit->name).c_str());
  }
  return buf;
}

}  // namespace jobwarden::policy
