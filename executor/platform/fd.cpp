#include "executor/platform/fd.hpp"

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <unistd.h>

namespace jobwarden::platform {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) reset(o.release());
  return *this;
}

int UniqueFd::release() {
  const int fd = m_fd;
  m_fd = -1;
  return fd;
}

void UniqueFd::reset(int fd) {
  if (m_fd >= 0) ::close(m_fd);  // close(2) errors are not actionable here (EINTR closes too)
  m_fd = fd;
}

WriteStatus write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      (void)::poll(&p, 1, -1);
      continue;
    }
    return n < 0 && errno == EPIPE ? WriteStatus::closed : WriteStatus::failed;
  }
  return WriteStatus::ok;
}

bool read_small_file(const char* path, std::string& out, bool single_record) {
  out.clear();
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      // One-record procfs files (stat, schedstat) return everything in one
      // read: a short read is their end. Others (mountinfo) come in
      // page-sized pieces and are read to EOF.
      if (single_record && static_cast<std::size_t>(n) < sizeof buf) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  ::close(fd);
  return true;
}

}  // namespace jobwarden::platform
