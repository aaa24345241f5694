#include "tests/support/dns_responder.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace jobwarden::testing {
namespace {

constexpr std::size_t k_header = 12;

struct Question {
  std::string name;         // lower case, without the final dot
  std::size_t end = 0;      // offset just past QTYPE and QCLASS
  unsigned type = 0;
};

// The first question of a query (names in queries are never compressed).
std::optional<Question> parse_question(const unsigned char* msg, std::size_t size) {
  Question q;
  std::size_t at = k_header;
  while (at < size && msg[at] != 0) {
    const std::size_t len = msg[at];
    if (len > 63 || at + 1 + len >= size) return std::nullopt;
    if (!q.name.empty()) q.name += '.';
    for (std::size_t i = 0; i < len; ++i) q.name += static_cast<char>(std::tolower(msg[at + 1 + i]));
    at += 1 + len;
  }
  if (at + 5 > size) return std::nullopt;
  q.type = (msg[at + 1] << 8) | msg[at + 2];
  q.end = at + 5;
  return q;
}

// The answer to `query`: its id and question, and an A record when asked for one we know.
std::string answer(const unsigned char* query, const Question& q, const std::map<std::string, std::string>& names) {
  const auto known = names.find(q.name);
  in_addr address{};
  const bool a_record = known != names.end() && q.type == 1 && ::inet_pton(AF_INET, known->second.c_str(), &address) == 1;
  std::string out(reinterpret_cast<const char*>(query), q.end);
  out[2] = static_cast<char>(0x84 | (query[2] & 0x01));  // QR, AA, RD as asked
  out[3] = static_cast<char>(known == names.end() ? 3 : 0);  // NXDOMAIN or NOERROR
  const char counts[8] = {0, 1, 0, static_cast<char>(a_record ? 1 : 0), 0, 0, 0, 0};
  out.replace(4, 8, counts, 8);  // one question, the answers, no authority, no additional
  if (a_record) {
    const char record[12] = {static_cast<char>(0xc0), 0x0c, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4};  // name at 12, A, IN, TTL 5 s
    out.append(record, sizeof record);
    out.append(reinterpret_cast<const char*>(&address), 4);
  }
  return out;
}

}  // namespace

DnsResponder::DnsResponder(std::map<std::string, std::string> addresses) : m_addresses(std::move(addresses)) {
  m_socket = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(53);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (m_socket < 0 || ::bind(m_socket, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::pipe2(m_stop, O_CLOEXEC) != 0) {
    std::abort();
  }
  m_thread = std::thread([this] { serve(); });
}

DnsResponder::~DnsResponder() {
  (void)!::write(m_stop[1], "x", 1);
  m_thread.join();
  ::close(m_socket);
  ::close(m_stop[0]);
  ::close(m_stop[1]);
}

void DnsResponder::serve() {
  unsigned char buf[1500];
  while (true) {
    pollfd fds[2] = {{m_socket, POLLIN, 0}, {m_stop[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if ((fds[1].revents & POLLIN) != 0) return;
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    const ssize_t n = ::recvfrom(m_socket, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < static_cast<ssize_t>(k_header)) continue;
    const auto q = parse_question(buf, static_cast<std::size_t>(n));
    if (!q) continue;
    const std::string reply = answer(buf, *q, m_addresses);
    (void)::sendto(m_socket, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
  }
}

bool isolated_network_namespace(const std::string& resolv_conf_path, std::string& why) {
  if (::unshare(CLONE_NEWNS | CLONE_NEWNET) != 0) {
    why = std::string("unshare: ") + std::strerror(errno);
    return false;
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount(resolv_conf_path.c_str(), "/etc/resolv.conf", nullptr, MS_BIND, nullptr) != 0) {
    why = std::string("mount: ") + std::strerror(errno);
    return false;
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq lo{};
  std::strncpy(lo.ifr_name, "lo", IFNAMSIZ - 1);
  const bool up = fd >= 0 && ::ioctl(fd, SIOCGIFFLAGS, &lo) == 0 && (lo.ifr_flags |= IFF_UP) != 0 &&
                  ::ioctl(fd, SIOCSIFFLAGS, &lo) == 0;
  if (!up) why = std::string("loopback up: ") + std::strerror(errno);
  if (fd >= 0) ::close(fd);
  return up;
}

}  // namespace jobwarden::testing
