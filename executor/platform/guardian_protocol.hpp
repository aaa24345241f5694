#pragma once
// What jobwarden tells its guardian (guardian.hpp), over a SOCK_SEQPACKET
// socketpair: one record per message, a kind byte, a text, and pidfds as
// SCM_RIGHTS. Private to guardian.cpp and guardian_process.cpp.

#include <string>
#include <vector>

#include "executor/platform/fd.hpp"

namespace jobwarden::platform {

constexpr char k_guardian_cgroup = 'C';     // text: a cgroup directory of the attempt; fds: the leaf's lock (the first)
constexpr char k_guardian_processes = 'P';  // text: pids ("12 34"), fds: their pidfds
constexpr char k_guardian_goodbye = 'E';    // jobwarden ends normally: exit at once

// At most this many pidfds per message (the kernel's SCM_MAX_FD is 253).
constexpr std::size_t k_guardian_fds_per_message = 200;

struct GuardianMessage {
  char kind = 0;
  std::string text;
  std::vector<int> pids;        // parsed from text for k_guardian_processes
  std::vector<UniqueFd> fds;
};

// One non-blocking send (MSG_DONTWAIT | MSG_NOSIGNAL): false when the
// guardian is gone or its queue is full.
bool send_guardian_message(int socket, char kind, const std::string& text, const std::vector<int>& fds);

enum class Received { message, nothing, end };
// One message: `nothing` when none is queued (non-blocking), `end` at EOF.
Received receive_guardian_message(int socket, GuardianMessage& out, bool nonblocking);

}  // namespace jobwarden::platform
