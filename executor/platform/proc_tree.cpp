#include "executor/platform/proc_tree.hpp"

#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <unordered_map>

#include <unistd.h>

#include "executor/platform/cgroup_fs.hpp"
#include "executor/platform/child_reaper.hpp"
#include "executor/platform/fd.hpp"

namespace jobwarden::platform {

std::optional<ProcStat> parse_proc_stat(const std::string& text) {
  const auto open = text.find('(');
  const auto close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return std::nullopt;
  ProcStat out;
  out.pid = std::atoi(text.c_str());
  out.comm = text.substr(open + 1, close - open - 1);
  int ppid = 0, pgid = 0, sid = 0;
  unsigned flags = 0;
  char state = '?';
  if (std::sscanf(text.c_str() + close + 1, " %c %d %d %d %*d %*d %u", &state, &ppid, &pgid, &sid, &flags) < 4) {
    return std::nullopt;
  }
  out.flags = flags;
  out.state = state;
  out.ppid = ppid;
  out.pgid = pgid;
  out.sid = sid;
  if (out.pid <= 0) return std::nullopt;
  return out;
}

std::optional<ProcStat> read_proc_stat(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  const auto text = read_small_file(path, true);
  return text ? parse_proc_stat(*text) : std::nullopt;
}

std::unordered_set<int> existing_descendants() {
  std::unordered_set<int> pids;
  if (!has_children()) return pids;  // rare (a shell's `cmd & exec jobwarden`): only then scan /proc
  for (const ProcStat& p : descendants(::getpid(), 0)) pids.insert(p.pid);
  return pids;
}

std::optional<std::vector<int>> own_children() {
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) return std::nullopt;
  std::vector<int> children;
  bool readable = true;
  char path[320];
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    std::snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
    const auto text = read_small_file(path);
    if (!text) {
      readable = false;
      break;
    }
    for (int pid : parse_pid_list(*text)) children.push_back(pid);
  }
  ::closedir(dir);
  if (!readable) return std::nullopt;
  return children;
}

bool has_exiting_child() {
  constexpr unsigned k_pf_exiting = 0x4;  // include/linux/sched.h
  const auto children = own_children();
  if (!children) return false;
  for (int pid : *children) {
    const auto st = read_proc_stat(pid);
    if (st && st->state != 'Z' && st->state != 'X' && (st->flags & k_pf_exiting) != 0) return true;
  }
  return false;
}

std::vector<ProcStat> scan_processes() {
  std::vector<ProcStat> all;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return all;
  char path[320];
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    std::snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    const auto text = read_small_file(path, true);
    if (auto st = text ? parse_proc_stat(*text) : std::nullopt) all.push_back(std::move(*st));
  }
  ::closedir(dir);
  return all;
}

std::string command_line(int pid, const std::string& comm) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
  std::string raw = read_small_file(path, false, k_max_command_bytes + 1).value_or("");
  if (raw.empty()) return "[" + comm + "]";
  const bool cut = raw.size() > k_max_command_bytes;
  if (cut) raw.resize(k_max_command_bytes);
  while (!raw.empty() && raw.back() == '\0') raw.pop_back();
  for (char& c : raw) {
    if (c == '\0' || c == '\n') c = ' ';
  }
  return cut ? raw + "..." : raw;
}

std::vector<ProcStat> descendants(int root, int also_session) {
  const std::vector<ProcStat> all = scan_processes();
  std::unordered_multimap<int, const ProcStat*> children;
  for (const auto& p : all) children.emplace(p.ppid, &p);
  std::vector<const ProcStat*> members;
  std::unordered_map<int, bool> seen;
  std::vector<int> frontier{root};
  while (!frontier.empty()) {
    const int parent = frontier.back();
    frontier.pop_back();
    auto [lo, hi] = children.equal_range(parent);
    for (auto it = lo; it != hi; ++it) {
      if (seen.emplace(it->second->pid, true).second) {
        members.push_back(it->second);
        frontier.push_back(it->second->pid);
      }
    }
  }
  if (also_session > 0) {
    for (const auto& p : all) {
      if (p.sid == also_session && p.pid != root && seen.emplace(p.pid, true).second) {
        members.push_back(&p);
      }
    }
  }
  std::vector<ProcStat> out;
  out.reserve(members.size());
  for (const ProcStat* p : members) out.push_back(*p);
  return out;
}

}  // namespace jobwarden::platform
