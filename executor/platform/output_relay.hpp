#pragma once
// Relays the step's stdout and stderr to ours as they are written: byte for
// byte, no line buffering, no length limit. Keeps a bounded tail of both
// streams, interleaved in arrival order, for the policy's output patterns.

#include <array>
#include <string>

#include "executor/platform/fd.hpp"

namespace jobwarden::platform {

class OutputRelay {
 public:
  struct Stream {
    UniqueFd read_end;   // non-blocking, close-on-exec
    int destination = -1;
    bool dest_closed = false;  // EPIPE: keep draining, stop writing
  };

  OutputRelay(int stdout_dest, int stderr_dest, std::size_t tail_capacity);

  // Creates fresh pipes for a new attempt; returns the write ends to give to
  // the child (the caller closes them after the fork). false on failure.
  bool open_pipes(int& child_stdout, int& child_stderr, std::string& error);

  // The read ends still open (-1 for closed ones), in stream order.
  std::array<int, 2> poll_fds() const;

  // Reads what is available on stream `index` and relays it. Returns false
  // when the stream reached end-of-file (and is now closed).
  bool pump(std::size_t index);

  // Relays whatever is still buffered in the pipes without waiting, then
  // closes them. Used when the tree is gone but a writer outside it (or a
  // leaked descriptor) keeps a pipe open.
  void drain_and_close();

  // The last `tail_capacity` bytes relayed since the previous call, and resets.
  std::string take_tail();
  unsigned long long bytes() const { return m_bytes; }

 private:
  std::array<Stream, 2> m_streams;
  // Both streams are read straight into one ring, and relayed from there, so
  // the tail costs no extra copy: it is simply the newest bytes of the ring.
  std::string m_ring;
  std::size_t m_ring_pos = 0;     // where the next read lands
  std::size_t m_tail_capacity;
  unsigned long long m_bytes = 0; // relayed since the last take_tail()
};

}  // namespace jobwarden::platform
