#include "tests/support/http_receiver.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace jobwarden::testing {
namespace {

// A loopback TCP socket bound to a port of the kernel's choice; `port` set.
int bound_socket(int& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) std::abort();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::abort();
  }
  port = ntohs(addr.sin_port);
  return fd;
}

void send_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

// Reads one request (headers and a Content-Length body); false on EOF/garbage.
bool read_request(int fd, int stop_fd, ReceivedRequest& out) {
  std::string data;
  char buf[4096];
  std::size_t header_end = std::string::npos, need = 0;
  while (true) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    if (::poll(fds, 2, 10'000) <= 0 || (fds[1].revents & POLLIN) != 0) return false;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    data.append(buf, static_cast<std::size_t>(n));
    if (header_end == std::string::npos && (header_end = data.find("\r\n\r\n")) != std::string::npos) {
      const std::string head = data.substr(0, header_end);
      out.method = head.substr(0, head.find(' '));
      const std::size_t path_at = head.find(' ') + 1;
      out.path = head.substr(path_at, head.find(' ', path_at) - path_at);
      for (const char* key : {"Content-Length: ", "content-length: "}) {
        if (const auto at = head.find(key); at != std::string::npos) need = std::strtoul(head.c_str() + at + 16, nullptr, 10);
      }
    }
    if (header_end != std::string::npos && data.size() >= header_end + 4 + need) {
      out.body = data.substr(header_end + 4, need);
      return true;
    }
  }
}

std::string answer(int status, const std::string& reason, const std::string& extra_header = "") {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Length: 0\r\nConnection: close\r\n" +
         extra_header + "\r\n";
}

}  // namespace

HttpReceiver::HttpReceiver(Mode mode) : m_mode(mode) {
  m_listener = bound_socket(m_port);
  if (::listen(m_listener, 64) != 0 || ::pipe2(m_stop, O_CLOEXEC) != 0) std::abort();
  m_thread = std::thread([this] { serve(); });
}

HttpReceiver::~HttpReceiver() {
  (void)!::write(m_stop[1], "x", 1);
  m_thread.join();
  ::close(m_listener);
  ::close(m_stop[0]);
  ::close(m_stop[1]);
}

std::string HttpReceiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(m_port) + path;
}

std::vector<ReceivedRequest> HttpReceiver::requests() const {
  std::lock_guard lock(m_mutex);
  return m_requests;
}

bool HttpReceiver::wait_for_requests(std::size_t n, std::chrono::milliseconds limit) const {
  std::unique_lock lock(m_mutex);
  return m_arrived.wait_for(lock, limit, [&] { return m_requests.size() >= n; });
}

void HttpReceiver::serve() {
  while (true) {
    pollfd fds[2] = {{m_listener, POLLIN, 0}, {m_stop[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if ((fds[1].revents & POLLIN) != 0) return;
    const int fd = ::accept4(m_listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    handle(fd);
    ::close(fd);
  }
}

void HttpReceiver::handle(int fd) {
  ReceivedRequest req;
  if (!read_request(fd, m_stop[0], req)) return;
  {
    std::lock_guard lock(m_mutex);
    m_requests.push_back(req);
  }
  m_arrived.notify_all();
  switch (m_mode) {
    case Mode::up: send_all(fd, answer(200, "OK")); break;
    case Mode::server_error: send_all(fd, answer(500, "Internal Server Error")); break;
    case Mode::redirect:
      send_all(fd, req.path == "/final" ? answer(200, "OK") : answer(307, "Temporary Redirect", "Location: /final\r\n"));
      break;
    case Mode::redirect_loop: send_all(fd, answer(302, "Found", "Location: " + req.path + "\r\n")); break;
    case Mode::slow: {
      pollfd stop{m_stop[0], POLLIN, 0};
      (void)::poll(&stop, 1, -1);  // answers only when the test is over
      send_all(fd, answer(200, "OK"));
      break;
    }
  }
}

DeadEndpoint::DeadEndpoint() { m_fd = bound_socket(m_port); }
DeadEndpoint::~DeadEndpoint() { ::close(m_fd); }
std::string DeadEndpoint::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(m_port) + path;
}

int free_loopback_port() {
  int port = 0;
  ::close(bound_socket(port));
  return port;
}

}  // namespace jobwarden::testing
