#include "executor/platform/output_relay.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace jobwarden::platform {
namespace {
// Reads of 64 KiB through the default 64 KiB pipe keep the relayed bytes hot
// in cache. Measured on the bench machine: 1 MiB pipes with 256 KiB reads
// were three times slower (see bench/RESULTS.md).
constexpr std::size_t k_chunk = 64 * 1024;
}  // namespace

OutputRelay::OutputRelay(int stdout_dest, int stderr_dest, std::size_t tail_capacity)
    : m_tail_capacity(tail_capacity) {
  m_streams[0].destination = stdout_dest;
  m_streams[1].destination = stderr_dest;
  m_ring.resize(std::max(k_chunk, tail_capacity));
}

bool OutputRelay::open_pipes(int& child_stdout, int& child_stderr, std::string& error) {
  int* child_ends[2] = {&child_stdout, &child_stderr};
  for (std::size_t i = 0; i < 2; ++i) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) {
      error = std::string("pipe2: ") + std::strerror(errno);
      return false;
    }
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
    const std::size_t want = std::min(k_chunk, m_ring.size() - m_ring_pos);
    char* at = m_ring.data() + m_ring_pos;
    const ssize_t n = ::read(s.read_end.get(), at, want);
    if (n > 0) {
      const auto len = static_cast<std::size_t>(n);
      m_bytes += len;
      m_ring_pos = (m_ring_pos + len) % m_ring.size();
      if (!s.dest_closed && write_all(s.destination, {at, len}) != WriteStatus::ok) {
        s.dest_closed = true;  // our reader went away: keep draining so the step is not blocked
      }
      if (len < want) return true;  // pipe likely empty: back to poll
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

std::string OutputRelay::take_tail() {
  const std::size_t n = static_cast<std::size_t>(
      std::min<unsigned long long>(m_bytes, std::min(m_tail_capacity, m_ring.size())));
  std::string out;
  out.reserve(n);
  const std::size_t start = (m_ring_pos + m_ring.size() - n) % m_ring.size();
  if (start + n <= m_ring.size()) {
    out.append(m_ring, start, n);
  } else {
    out.append(m_ring, start, m_ring.size() - start);
    out.append(m_ring, 0, n - (m_ring.size() - start));
  }
  m_bytes = 0;
  return out;
}

}  // namespace jobwarden::platform
