#pragma once
// Relays the step's stdout and stderr to ours as they are written: byte for
// byte, no line buffering, no length limit. Keeps a bounded tail of both
// streams, interleaved in arrival order, for the policy's output patterns.
//
// A reader of our stdout that stops reading (a stuck CI agent, `| sleep`)
// must not stop the event loop: writes to pipes and terminals go through a
// non-blocking file description of our own, what cannot be written waits
// in a per-stream buffer while the event loop polls for POLLOUT, and the
// step's pipe is not read meanwhile (back-pressure: the step blocks in its
// write, as it would without us). Deadlines and signals keep working.
// Sockets cannot be reopened: they are written with send(MSG_DONTWAIT), which
// never blocks whatever the description's flags. A destination whose reader
// is gone stays closed for the rest of the run (the CI stopped listening).

#include <array>
#include <memory>
#include <string>

#include "executor/core/result.hpp"
#include "executor/platform/fd.hpp"

namespace jobwarden::platform {

class OutputRelay {
 public:
  // `merged`: our stdout and stderr are one open file description (see
  // same_open_description): the step then gets one pipe as both its stdout
  // and stderr, so its output keeps exactly the order it was written in, and
  // it is relayed to `stdout_dest` (stream 0; stream 1 stays unused).
  OutputRelay(int stdout_dest, int stderr_dest, std::size_t tail_capacity, bool merged = false);

  // The write ends of an attempt's pipes, for the child (the caller closes
  // them after the fork; when merged, both are the same descriptor: close it once).
  struct ChildEnds {
    int stdout_fd = -1;
    int stderr_fd = -1;
  };
  // Creates fresh pipes for a new attempt, or says which call failed.
  core::Result<ChildEnds, std::string> open_pipes();

  // What to poll for stream `index`: its pipe for POLLIN, or, while output
  // waits for the destination, the destination for POLLOUT. fd -1: nothing.
  struct PollItem {
    int fd = -1;
    short events = 0;
  };
  PollItem poll_item(std::size_t index) const;

  // The destination of stream `index` to watch for its reader going away
  // (polled with no events: POLLERR/POLLHUP). fd -1 once it is known closed.
  PollItem watch_item(std::size_t index) const;
  // The destination's reader is gone: stop writing to it (keep draining).
  void mark_destination_closed(std::size_t index);
  // Whether the reader of our stdout or stderr went away (EPIPE, POLLERR, POLLHUP).
  bool destination_closed() const { return m_streams[0].dest_closed || m_streams[1].dest_closed; }

  // Called when poll_item(index) is ready: writes what waits, then reads and
  // relays what is available. Returns false once the stream is finished.
  bool service(std::size_t index);

  // At the end of an attempt: relays what is still buffered in the pipes,
  // waiting at most `patience` in all for a stalled destination, then closes
  // the pipes. Returns the number of bytes that had to be dropped.
  unsigned long long drain_and_close(int patience_ms);

  // Relays what the step has written so far, without waiting: called before
  // each of jobwarden's own lines, so that a line lands after the output that
  // preceded it. Bounded, like service().
  void relay_available();

  // The last `tail_capacity` bytes relayed since the previous call, and resets.
  std::string take_tail();
  unsigned long long bytes() const { return m_bytes; }

 private:
  struct Stream {
    UniqueFd read_end;       // non-blocking, close-on-exec
    int destination = -1;    // where writes go (ours when reopened, else the caller's)
    UniqueFd own_destination;
    bool dest_closed = false;  // EPIPE: keep draining, stop writing
    bool dest_socket = false;  // written with send(MSG_DONTWAIT): a socket cannot be reopened
    std::string pending;       // read but not yet written
  };
  bool flush(Stream& s);  // true when nothing is pending any more
  enum class ReadResult { finished, empty, more, blocked };
  ReadResult read_some(std::size_t index);

  std::array<Stream, 2> m_streams;
  // Both streams are read straight into one ring, and relayed from there, so
  // the tail costs no extra copy: it is simply the newest bytes of the ring.
  // Never zeroed (64 KiB touched for nothing at every start otherwise): only
  // bytes read into it are ever read from it (take_tail reads m_bytes at most).
  std::unique_ptr<char[]> m_ring;
  std::size_t m_ring_size = 0;
  std::size_t m_ring_pos = 0;     // where the next read lands
  std::size_t m_tail_capacity;
  bool m_merged = false;
  unsigned long long m_bytes = 0; // relayed since the last take_tail()
};

}  // namespace jobwarden::platform
