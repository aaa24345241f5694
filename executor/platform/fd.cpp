#include "executor/platform/fd.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <sys/stat.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <poll.h>
#include <sys/socket.h>
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

ssize_t write_without_blocking(int fd, const char* data, std::size_t len, bool socket) {
  return socket ? ::send(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL) : ::write(fd, data, len);
}

bool is_socket(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

WriteStatus write_all(int fd, std::string_view data, int timeout_ms, bool socket) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!data.empty()) {
    const ssize_t n = write_without_blocking(fd, data.data(), data.size(), socket);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      int wait_ms = -1;
      if (timeout_ms >= 0) {
        wait_ms = static_cast<int>(
            std::chrono::duration_cast<std::chrono::milliseconds>(give_up - std::chrono::steady_clock::now()).count());
        if (wait_ms <= 0) return WriteStatus::timed_out;
      }
      pollfd p{fd, POLLOUT, 0};
      (void)::poll(&p, 1, wait_ms);
      continue;
    }
    return n < 0 && errno == EPIPE ? WriteStatus::closed : WriteStatus::failed;
  }
  return WriteStatus::ok;
}

int reopen_nonblocking(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))) return -1;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  return ::open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
}

FdSink::FdSink(int fd) : m_fd(fd), m_socket(is_socket(fd)), m_own(reopen_nonblocking(fd)) {
  if (m_own.valid()) m_fd = m_own.get();
}

void FdSink::write(std::string_view text) {
  constexpr int k_line_patience_ms = 2000;
  if (write_all(m_fd, text, m_stalled ? 0 : k_line_patience_ms, m_socket) == WriteStatus::timed_out) m_stalled = true;
}

namespace {

// `fd` to its end, at most `max_bytes`: with `from_start`, by pread from
// offset 0 on (the descriptor's own offset is left alone), else by read().
std::optional<std::string> read_to_end(int fd, bool from_start, bool single_record, std::size_t max_bytes) {
  std::string out;
  char buf[4096];
  while (out.size() < max_bytes) {
    const std::size_t want = std::min(sizeof buf, max_bytes - out.size());
    const ssize_t n = from_start ? ::pread(fd, buf, want, static_cast<off_t>(out.size())) : ::read(fd, buf, want);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      // One-record procfs files (stat, schedstat) return everything in one
      // read: a short read is their end. Others (mountinfo) come in
      // page-sized pieces and are read to EOF.
      if (single_record && static_cast<std::size_t>(n) < sizeof buf) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && out.empty()) return std::nullopt;
    break;
  }
  return out;
}

}  // namespace

std::optional<std::string> read_small_file(const std::string& path, bool single_record, std::size_t max_bytes) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  return read_to_end(fd.get(), false, single_record, max_bytes).value_or(std::string());
}

RereadableFile::RereadableFile(const std::string& path) : m_fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}

std::optional<std::string> RereadableFile::read() const {
  if (!m_fd.valid()) return std::nullopt;
  return read_to_end(m_fd.get(), true, false, 64 * 1024);
}

bool is_terminal(int fd) { return ::isatty(fd) == 1; }

bool same_open_description(int a, int b) {
  const pid_t self = ::getpid();
  const long same = ::syscall(SYS_kcmp, self, self, KCMP_FILE, a, b);
  if (same >= 0) return same == 0;  // 1, 2, 3: different descriptions (ordered for sorting)
  struct stat sa {}, sb {};
  if (::fstat(a, &sa) != 0 || ::fstat(b, &sb) != 0) return false;
  if (sa.st_dev != sb.st_dev || sa.st_ino != sb.st_ino) return false;
  if (!S_ISREG(sa.st_mode)) return true;
  return ::lseek(a, 0, SEEK_CUR) == ::lseek(b, 0, SEEK_CUR) && ::fcntl(a, F_GETFL) == ::fcntl(b, F_GETFL);
}

}  // namespace jobwarden::platform
