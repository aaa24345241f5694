#pragma once
// core's vocabulary for failure: the one Result shape (common/result.hpp,
// re-exported here so that core, platform, io, adapters and cli write
// core::Result), the one exception (InternalFault) and a failed system call.

#include <stdexcept>
#include <string>

#include "common/result.hpp"

namespace jobwarden::core {

using jobwarden::Ok;
using jobwarden::Result;
using jobwarden::Status;
using jobwarden::Unexpected;
using jobwarden::unexpected;

// The one exception jobwarden throws, and only from the process runner: a
// fault of jobwarden itself, not of the step, that leaves it unable to go on
// supervising (ppoll failing with other than EINTR; no descriptor or process
// left to start the step with). main's catch-all turns it into the
// internal-fault exit code (70; 2 for the GitLab driver), after the runner's
// destructor has killed and reaped whatever the step started.
struct InternalFault : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A failed system call: which operation and its errno.
struct SysError {
  std::string op;
  int err = 0;
  std::string message() const;  // "op: strerror(err)"
};

}  // namespace jobwarden::core
