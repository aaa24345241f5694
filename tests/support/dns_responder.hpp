#pragma once
// A small authoritative DNS server for tests: UDP on 127.0.0.1:53 in a
// thread of the test process, answering A queries for the names it is given
// (NOERROR without records for other types of a known name, NXDOMAIN for
// unknown names). Port 53 needs root and a network namespace of the test's
// own (isolated_network_namespace), where it is free and where glibc's
// resolver can be pointed at it through a private /etc/resolv.conf.

#include <map>
#include <string>
#include <thread>

namespace jobwarden::testing {

class DnsResponder {
 public:
  // `addresses`: fully qualified name without the final dot ("receiver.jwtest")
  // -> dotted IPv4 address.
  explicit DnsResponder(std::map<std::string, std::string> addresses);
  ~DnsResponder();
  DnsResponder(const DnsResponder&) = delete;
  DnsResponder& operator=(const DnsResponder&) = delete;

 private:
  void serve();

  std::map<std::string, std::string> m_addresses;
  int m_socket = -1;
  int m_stop[2] = {-1, -1};
  std::thread m_thread;
};

// Moves the calling process (which must still have one thread) into new
// mount and network namespaces: loopback up, nothing else reachable, and
// /etc/resolv.conf replaced (in this namespace only) by `resolv_conf_path`.
// Needs root; false, with the reason in `why`, when the kernel refuses.
bool isolated_network_namespace(const std::string& resolv_conf_path, std::string& why);

}  // namespace jobwarden::testing
