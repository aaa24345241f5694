#pragma once
// A small HTTP/1.1 server on a loopback port of its own, in a thread of the
// test process: the webhook receiver of the alert tests. It records every
// request and answers according to its mode. One request per connection
// (it answers with Connection: close).

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace jobwarden::testing {

struct ReceivedRequest {
  std::string method;
  std::string path;  // with the query
  std::string body;
};

class HttpReceiver {
 public:
  enum class Mode {
    up,             // 200
    slow,           // reads the request, then answers only when stopped
    server_error,   // 500
    redirect,       // 307 from any path but /final to /final, which answers 200
    redirect_loop,  // 302 to itself, forever
  };

  explicit HttpReceiver(Mode mode);
  ~HttpReceiver();
  HttpReceiver(const HttpReceiver&) = delete;
  HttpReceiver& operator=(const HttpReceiver&) = delete;

  int port() const { return m_port; }
  std::string url(const std::string& path) const;
  std::vector<ReceivedRequest> requests() const;
  // Waits until at least `n` requests have arrived; false after `limit`.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds limit) const;

 private:
  void serve();
  void handle(int fd);

  Mode m_mode;
  int m_listener = -1;
  int m_stop[2] = {-1, -1};  // a pipe: writing to it stops the server (and a slow answer)
  int m_port = 0;
  mutable std::mutex m_mutex;
  mutable std::condition_variable m_arrived;
  std::vector<ReceivedRequest> m_requests;
  std::thread m_thread;
};

// A loopback URL where nothing listens (a port bound without listen()): connections are refused.
class DeadEndpoint {
 public:
  DeadEndpoint();
  ~DeadEndpoint();
  std::string url(const std::string& path) const;

 private:
  int m_fd = -1;
  int m_port = 0;
};

// A loopback port that was free a moment ago (for servers that take a port number).
int free_loopback_port();

}  // namespace jobwarden::testing
