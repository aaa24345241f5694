#include "executor/platform/output_relay.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace jobwarden::platform {
namespace {
// Reads of 64 KiB through the default 64 KiB pipe keep the relayed bytes hot
// in cache. Measured on the bench machine: 1 MiB pipes with 256 KiB reads
// were three times slower (see bench/RESULTS.md).
constexpr std::size_t k_chunk = 64 * 1024;

// Writes as much as the destination takes now; returns the count, or -1 on
// a closed or broken destination.
ssize_t write_now(int fd, const char* data, std::size_t len, bool socket) {
  for (;;) {
    const ssize_t n = write_without_blocking(fd, data, len, socket);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return 0;
    return -1;
  }
}
}  // namespace

OutputRelay::OutputRelay(int stdout_dest, int stderr_dest, std::size_t tail_capacity, bool merged)
    : m_tail_capacity(tail_capacity), m_merged(merged) {
  const int dests[2] = {stdout_dest, stderr_dest};
  for (std::size_t i = 0; i < 2; ++i) {
    m_streams[i].own_destination.reset(reopen_nonblocking(dests[i]));
    m_streams[i].destination = m_streams[i].own_destination.valid() ? m_streams[i].own_destination.get() : dests[i];
    m_streams[i].dest_socket = is_socket(dests[i]);
  }
  m_ring_size = std::max(k_chunk, tail_capacity);
  m_ring = std::make_unique_for_overwrite<char[]>(m_ring_size);
}

core::Result<OutputRelay::ChildEnds, std::string> OutputRelay::open_pipes() {
  ChildEnds ends;
  int* child_ends[2] = {&ends.stdout_fd, &ends.stderr_fd};
  m_streams[1].read_end.reset();
  m_streams[1].pending.clear();
  for (std::size_t i = 0; i < (m_merged ? 1 : 2); ++i) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) {
      const int err = errno;
      if (i == 1) ::close(ends.stdout_fd);  // the first pipe's write end is ours until handed out
      return core::unexpected(std::string("pipe2: ") + std::strerror(err));
    }
    (void)::fcntl(fds[0], F_SETFL, O_NONBLOCK);
    m_streams[i].read_end.reset(fds[0]);
    m_streams[i].pending.clear();
    *child_ends[i] = fds[1];
  }
  if (m_merged) ends.stderr_fd = ends.stdout_fd;
  return ends;
}

void OutputRelay::relay_available() {
  constexpr int k_max_rounds = 4;  // 4 x 16 reads of 64 KiB: a chatty step cannot hold a log line forever
  for (std::size_t i = 0; i < m_streams.size(); ++i) {
    for (int round = 0; round < k_max_rounds && flush(m_streams[i]); ++round) {
      if (read_some(i) != ReadResult::more) break;
    }
  }
}

OutputRelay::PollItem OutputRelay::poll_item(std::size_t index) const {
  const Stream& s = m_streams[index];
  if (!s.pending.empty()) return {s.destination, POLLOUT};
  return {s.read_end.get(), POLLIN};
}

OutputRelay::PollItem OutputRelay::watch_item(std::size_t index) const {
  const Stream& s = m_streams[index];
  return {s.dest_closed ? -1 : s.destination, 0};
}

void OutputRelay::mark_destination_closed(std::size_t index) {
  m_streams[index].dest_closed = true;
  m_streams[index].pending.clear();
}

bool OutputRelay::flush(Stream& s) {
  if (s.pending.empty()) return true;
  if (s.dest_closed) {
    s.pending.clear();
    return true;
  }
  const ssize_t n = write_now(s.destination, s.pending.data(), s.pending.size(), s.dest_socket);
  if (n < 0) {
    s.dest_closed = true;  // our reader went away: keep draining so the step is not blocked
    s.pending.clear();
    return true;
  }
  s.pending.erase(0, static_cast<std::size_t>(n));
  return s.pending.empty();
}

bool OutputRelay::service(std::size_t index) {
  Stream& s = m_streams[index];
  if (!flush(s)) return true;  // still waiting for the destination
  return read_some(index) != ReadResult::finished;
}

OutputRelay::ReadResult OutputRelay::read_some(std::size_t index) {
  Stream& s = m_streams[index];
  if (!s.read_end.valid()) return ReadResult::finished;
  // Bounded, so that a step that writes without pause cannot starve the
  // event loop (deadlines, signals) of attention.
  for (int round = 0; round < 16; ++round) {
    const std::size_t want = std::min(k_chunk, m_ring_size - m_ring_pos);
    char* at = m_ring.get() + m_ring_pos;
    const ssize_t n = ::read(s.read_end.get(), at, want);
    if (n > 0) {
      const auto len = static_cast<std::size_t>(n);
      m_bytes += len;
      m_ring_pos = (m_ring_pos + len) % m_ring_size;
      if (!s.dest_closed) {
        const ssize_t written = write_now(s.destination, at, len, s.dest_socket);
        if (written < 0) {
          s.dest_closed = true;
        } else if (static_cast<std::size_t>(written) < len) {
          s.pending.assign(at + written, len - static_cast<std::size_t>(written));
          return ReadResult::blocked;  // back-pressure: no more reading until this is written
        }
      }
      if (len < want) return ReadResult::empty;  // pipe likely empty: back to poll
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return ReadResult::empty;
    s.read_end.reset();  // EOF (or an error we cannot act on)
    return ReadResult::finished;
  }
  return ReadResult::more;
}

unsigned long long OutputRelay::drain_and_close(int patience_ms) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(patience_ms);
  unsigned long long dropped = 0;
  for (std::size_t i = 0; i < m_streams.size(); ++i) {
    Stream& s = m_streams[i];
    // Until the pipe is empty (writers outside the tree are not waited for)
    // or the patience is spent on a destination that does not take more.
    while (std::chrono::steady_clock::now() < give_up) {
      if (!flush(s)) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - std::chrono::steady_clock::now());
        pollfd p{s.destination, POLLOUT, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
        continue;
      }
      const ReadResult r = read_some(i);
      if (r == ReadResult::finished || r == ReadResult::empty) break;
    }
    dropped += s.pending.size();
    s.pending.clear();
    s.read_end.reset();
  }
  return dropped;
}

std::string OutputRelay::take_tail() {
  const std::size_t n = static_cast<std::size_t>(
      std::min<unsigned long long>(m_bytes, std::min(m_tail_capacity, m_ring_size)));
  std::string out;
  out.reserve(n);
  const std::size_t start = (m_ring_pos + m_ring_size - n) % m_ring_size;
  if (start + n <= m_ring_size) {
    out.append(m_ring.get() + start, n);
  } else {
    out.append(m_ring.get() + start, m_ring_size - start);
    out.append(m_ring.get(), n - (m_ring_size - start));
  }
  m_bytes = 0;
  return out;
}

}  // namespace jobwarden::platform
