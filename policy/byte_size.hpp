#pragma once
// Memory sizes as users write them in policies and the admin configuration:
// "512MiB", "2GiB", "64 MiB", "1.5GiB". Binary units only (KiB, MiB, GiB,
// TiB), because the kernel's limits are in bytes and "MB" is ambiguous; a
// bare number is rejected (bytes or megabytes?), as are zero and sizes
// below 1 MiB (the kernel would kill the step before it starts) or above
// 1 PiB.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace jobwarden::policy {

using ByteSize = std::uint64_t;

// The size in bytes, or what was expected instead.
using ByteSizeParse = Result<ByteSize, std::string>;

ByteSizeParse parse_byte_size(std::string_view text);

// "512MiB", "1.5GiB", "800KiB": the largest unit that keeps it readable.
std::string format_byte_size(ByteSize bytes);

}  // namespace jobwarden::policy
