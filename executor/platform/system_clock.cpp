#include "executor/platform/system_clock.hpp"

namespace jobwarden::platform {

core::MonoTime SystemClock::now() const { return std::chrono::steady_clock::now(); }
core::WallTime SystemClock::wall_now() const { return std::chrono::system_clock::now(); }

}  // namespace jobwarden::platform
