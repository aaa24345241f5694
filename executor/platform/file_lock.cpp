#include "executor/platform/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <time.h>

#include <cerrno>

namespace jobwarden::platform {

core::Result<FileLock, core::SysError> FileLock::acquire(const std::string& path, std::chrono::milliseconds limit) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd.valid()) return core::unexpected(core::SysError{"open " + path, errno});
  // flock has no timeout: poll the lock every 2 ms up to the limit (holders
  // keep it for a read, a merge and a rename: a few milliseconds).
  const auto until = std::chrono::steady_clock::now() + limit;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK || std::chrono::steady_clock::now() >= until) {
      return core::unexpected(core::SysError{"flock " + path, errno});
    }
    const timespec pause{0, 2'000'000};
    ::nanosleep(&pause, nullptr);
  }
  return FileLock(std::move(fd));
}

core::Result<bool, core::SysError> claim_once(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.valid()) return true;
  if (errno == EEXIST) return false;
  return core::unexpected(core::SysError{"create " + path, errno});
}

}  // namespace jobwarden::platform
