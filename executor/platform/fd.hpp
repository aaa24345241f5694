#pragma once
// File descriptors: an owning wrapper, robust writes, and a LineSink on an fd.

#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

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

enum class WriteStatus { ok, closed /* EPIPE */, failed, timed_out };

// Writes all of `data`, retrying on EINTR and partial writes, and waiting
// with poll() when the descriptor is non-blocking (EAGAIN) — for at most
// `timeout_ms` in all (-1: no limit). `socket`: through send(MSG_DONTWAIT),
// so that a blocking socket cannot block (see write_without_blocking).
WriteStatus write_all(int fd, std::string_view data, int timeout_ms = -1, bool socket = false);

// One write that never blocks: send(MSG_DONTWAIT | MSG_NOSIGNAL) on a
// socket (whose description may be blocking and cannot be reopened), plain
// write() otherwise (the caller uses a non-blocking description). -1/EAGAIN
// when nothing fits now.
ssize_t write_without_blocking(int fd, const char* data, std::size_t len, bool socket);
bool is_socket(int fd);

// A whole small file (/proc, /sys); nullopt when it cannot be opened.
// `single_record`: a short read is the end (procfs stat/schedstat files).
// At most `max_bytes` are read (a file a process controls, such as
// /proc/PID/cmdline, can be megabytes).
std::optional<std::string> read_small_file(const std::string& path, bool single_record = false,
                                           std::size_t max_bytes = std::string::npos);

// A small /proc or cgroup file read again and again through one open
// descriptor: each read() is a pread from offset 0, which the kernel answers
// with freshly generated text, without the path walk of an open() per
// sample (most of a sample's cost on an idle host). A cgroup file of a
// removed cgroup reads as nullopt (ENODEV), as does a file never opened.
class RereadableFile {
 public:
  RereadableFile() = default;
  explicit RereadableFile(const std::string& path);
  std::optional<std::string> read() const;
  void close() { m_fd.reset(); }
  bool valid() const { return m_fd.valid(); }
  int fd() const { return m_fd.get(); }  // for poll() (kernfs: POLLPRI on a change)

 private:
  UniqueFd m_fd;
};

// A LineSink writing jobwarden's own lines to a descriptor. Errors are
// ignored (a closed log must not take the step down with it), and a reader
// that stops reading cannot block jobwarden: pipes and terminals are written
// through a non-blocking description of our own, sockets with
// send(MSG_DONTWAIT), a line waits at most 2 s,
// and after one such stall lines are only written when they fit at once.
class FdSink final : public core::LineSink {
 public:
  explicit FdSink(int fd);
  void write(std::string_view text) override;

 private:
  int m_fd;
  bool m_socket = false;
  UniqueFd m_own;
  bool m_stalled = false;
};

// Whether descriptors `a` and `b` share one open file description (a shell's
// `2>&1`, one pipe from GitLab Runner, Jenkins' `> log 2>&1`, Buildkite's
// PTY): then whatever is written through either lands in one stream, in
// order. kcmp(KCMP_FILE) answers exactly. Where the kernel refuses it
// (no CONFIG_KCMP, a seccomp filter), fstat+fcntl decide: the same pipe,
// socket or terminal (no offset: both write into the same stream in order),
// or the same regular file at the same offset with the same status flags.
bool same_open_description(int a, int b);

// isatty(), for the CLI's colour choice.
bool is_terminal(int fd);

// A non-blocking description of our own for `fd` when it is a pipe or a
// terminal (setting O_NONBLOCK on the shared one would surprise the others
// sharing it); -1 for regular files (they never block, and a second
// description would have its own offset) and sockets (cannot be reopened).
int reopen_nonblocking(int fd);

}  // namespace jobwarden::platform
