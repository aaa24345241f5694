#pragma once
#include "executor/core/clock.hpp"

namespace jobwarden::platform {

class SystemClock final : public core::Clock {
 public:
  core::MonoTime now() const override;
  core::WallTime wall_now() const override;
};

}  // namespace jobwarden::platform
