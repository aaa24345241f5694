#pragma once
// Files as inter-process coordination: an exclusive lock that concurrent
// jobwarden processes take around a read-modify-replace (the metrics
// textfile), and a marker that exactly one process of a job can create (the
// job's one alert).

#include <chrono>
#include <string>

#include "executor/core/result.hpp"
#include "executor/platform/fd.hpp"

namespace jobwarden::platform {

// An exclusive flock(2) on a lock file, released when destroyed.
class FileLock {
 public:
  // Opens or creates `path` (mode 0644, never through a symlink) and waits at
  // most `limit` for the lock.
  static core::Result<FileLock, core::SysError> acquire(const std::string& path, std::chrono::milliseconds limit);

 private:
  explicit FileLock(UniqueFd fd) : m_fd(std::move(fd)) {}
  UniqueFd m_fd;  // closing it releases the lock
};

// Creates `path` exclusively (O_CREAT|O_EXCL, never through a symlink): true
// when this call created it, false when it already existed.
core::Result<bool, core::SysError> claim_once(const std::string& path);

}  // namespace jobwarden::platform
