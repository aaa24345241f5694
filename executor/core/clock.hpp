#pragma once
// Time as the supervisor sees it. The real clock lives in platform/; unit
// tests drive a fake one so that no test sleeps.

#include <chrono>

namespace jobwarden::core {

using MonoTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime now() const = 0;        // monotonic: deadlines and durations
  virtual WallTime wall_now() const = 0;   // calendar: reports and GitLab section stamps
};

inline double seconds_between(MonoTime from, MonoTime to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace jobwarden::core
