#pragma once
// The process tree, read from /proc. Because jobwarden is a child subreaper,
// every descendant of the step, setsid'd and double-forked ones included,
// stays a descendant of jobwarden until it is reaped: the tree is exactly the
// set of processes whose parent chain leads to us.

#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "executor/core/process_runner.hpp"

namespace jobwarden::platform {

struct ProcStat {
  int pid = 0;
  int ppid = 0;
  int pgid = 0;
  int sid = 0;
  char state = '?';
  unsigned flags = 0;  // the kernel's PF_* flags (0 when the text ends before them)
  std::string comm;
};

// Parses the content of /proc/PID/stat (comm may hold spaces and ')');
// nullopt when it is not one.
std::optional<ProcStat> parse_proc_stat(const std::string& text);

// /proc/PID/stat of one process, when it exists.
std::optional<ProcStat> read_proc_stat(int pid);

// Every process on the system, from one pass over /proc.
std::vector<ProcStat> scan_processes();

// The descendants of `root` (not root itself), plus every process of session
// `also_session` (0: none), from one /proc pass, parents before children.
std::vector<ProcStat> descendants(int root, int also_session);

// The pids of our descendants right now; empty without a /proc scan when we
// have no child at all (the usual case at start).
std::unordered_set<int> existing_descendants();

// Our own children (every thread's, zombies included) from
// /proc/self/task/*/children; nullopt where the kernel lacks that file
// (CONFIG_PROC_CHILDREN).
std::optional<std::vector<int>> own_children();

// Whether a child of ours has begun to exit and is not a zombie yet
// (PF_EXITING in its flags): it can be reaped in a moment. A cgroup says
// "populated 0" as soon as its last task left it, which is before that task
// becomes a zombie. False where /proc/self/task/*/children is missing.
bool has_exiting_child();

// "cmd arg arg" from /proc/PID/cmdline, or "[comm]" for kernel-ish/zombies.
// A process chooses its own command line (up to megabytes, once per member of
// a tree of hundreds): at most k_max_command_bytes of it are kept, and a cut
// one ends with "..." (core::k_cut_marker, where the Redactor looks for the
// start of a secret that was cut).
inline constexpr std::size_t k_max_command_bytes = 4096;
std::string command_line(int pid, const std::string& comm);

}  // namespace jobwarden::platform
