#include "executor/platform/output_relay.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace jobwarden::platform {
namespace {
constexpr std::size_t k_chunk = 256 * 1024;
// Larger pipes mean fewer wake-ups per byte relayed. Linux caps unprivileged
// sizes at /proc/sys/fs/pipe-max-size (1 MiB by default); failure is harmless.
constexpr int k_pipe_size = 1024 * 1024;
}  // namespace

OutputRelay::OutputRelay(int stdout_dest, int stderr_dest, std::size_t tail_capacity)
    : m_tail_capacity(tail_capacity) {
  m_streams[0].destination = stdout_dest;
  m_streams[1].destination = stderr_dest;
  m_buffer.resize(k_chunk);
}

bool OutputRelay::open_pipes(int& child_stdout, int& child_stderr, std::string& error) {
  int* child_ends[2] = {&child_stdout, &child_stderr};
  for (std::size_t i = 0; i < 2; ++i) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) {
      error = std::string("pipe2: ") + std::strerror(errno);
      return false;
    }
    (void)::fcntl(fds[0], F_SETPIPE_SZ, k_pipe_size);
    (void)::fcntl(fds[0], F_SETFL, O_NONBLOCK);
    m_streams[i].read_end.reset(fds[0]);
    m_streams[i].dest_closed = false;
    *child_ends[i] = fds[1];
  }
  return true;
}

std::array<int, 2> OutputRelay::poll_fds() const {
  return {m_streams[0].read_end.get(), m_streams[1].read_end.get()};
}

bool OutputRelay::pump(std::size_t index) {
  Stream& s = m_streams[index];
  if (!s.read_end.valid()) return false;
  // Bounded, so that a step that writes without pause cannot starve the
  // event loop (deadlines, signals) of attention.
  for (int round = 0; round < 16; ++round) {
    const ssize_t n = ::read(s.read_end.get(), m_buffer.data(), m_buffer.size());
    if (n > 0) {
      const auto len = static_cast<std::size_t>(n);
      m_bytes += len;
      keep_tail(m_buffer.data(), len);
      if (!s.dest_closed && write_all(s.destination, {m_buffer.data(), len}) != WriteStatus::ok) {
        s.dest_closed = true;  // our reader went away: keep draining so the step is not blocked
      }
      if (len < m_buffer.size()) return true;  // pipe likely empty: back to poll
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    s.read_end.reset();  // EOF (or an error we cannot act on)
    return false;
  }
  return true;
}

void OutputRelay::drain_and_close() {
  for (std::size_t i = 0; i < m_streams.size(); ++i) {
    if (m_streams[i].read_end.valid()) {
      (void)pump(i);
      m_streams[i].read_end.reset();
    }
  }
}

void OutputRelay::keep_tail(const char* data, std::size_t n) {
  if (m_tail_capacity == 0) return;
  if (n >= m_tail_capacity) {
    m_tail.assign(data + (n - m_tail_capacity), m_tail_capacity);
    return;
  }
  m_tail.append(data, n);
  // Trim lazily, so that the cost is amortised over many small writes.
  if (m_tail.size() > 2 * m_tail_capacity) m_tail.erase(0, m_tail.size() - m_tail_capacity);
}

std::string OutputRelay::take_tail() {
  if (m_tail.size() > m_tail_capacity) m_tail.erase(0, m_tail.size() - m_tail_capacity);
  std::string out = std::move(m_tail);
  m_tail.clear();
  m_bytes = 0;
  return out;
}

}  // namespace jobwarden::platform
