#pragma once
// File descriptors: an owning wrapper, robust writes, and a LineSink on an fd.

#include <string_view>

#include "executor/core/job_log.hpp"

namespace jobwarden::platform {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : m_fd(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& o) noexcept : m_fd(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  ~UniqueFd() { reset(); }

  int get() const { return m_fd; }
  bool valid() const { return m_fd >= 0; }
  int release();
  void reset(int fd = -1);

 private:
  int m_fd = -1;
};

enum class WriteStatus { ok, closed /* EPIPE */, failed };

// Writes all of `data`, retrying on EINTR and partial writes, and waiting
// with poll() when the descriptor is non-blocking (EAGAIN): our stdout may be
// a file description shared with a parent that set O_NONBLOCK on it.
WriteStatus write_all(int fd, std::string_view data);

// Reads a whole small file (/proc, /sys); false when it cannot be opened.
// `single_record`: a short read is the end (procfs stat/schedstat files).
bool read_small_file(const char* path, std::string& out, bool single_record = false);

// A LineSink writing to a descriptor; errors are ignored (a closed log
// must not take the step down with it).
class FdSink final : public core::LineSink {
 public:
  explicit FdSink(int fd) : m_fd(fd) {}
  void write(std::string_view text) override { (void)write_all(m_fd, text); }

 private:
  int m_fd;
};

}  // namespace jobwarden::platform
