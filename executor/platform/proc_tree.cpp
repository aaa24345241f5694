#include "executor/platform/proc_tree.hpp"

#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <unordered_map>

#include <unistd.h>

#include "executor/platform/child_reaper.hpp"
#include "executor/platform/fd.hpp"

namespace jobwarden::platform {

bool parse_proc_stat(const std::string& text, ProcStat& out) {
  const auto open = text.find('(');
  const auto close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return false;
  out.pid = std::atoi(text.c_str());
  out.comm = text.substr(open + 1, close - open - 1);
  int ppid = 0, pgid = 0, sid = 0;
  char state = '?';
  if (std::sscanf(text.c_str() + close + 1, " %c %d %d %d", &state, &ppid, &pgid, &sid) != 4) {
    return false;
  }
  out.state = state;
  out.ppid = ppid;
  out.pgid = pgid;
  out.sid = sid;
  return out.pid > 0;
}

std::optional<ProcStat> read_proc_stat(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  std::string text;
  ProcStat st;
  if (!read_small_file(path, text, true) || !parse_proc_stat(text, st)) return std::nullopt;
  return st;
}

std::unordered_set<int> existing_descendants() {
  std::unordered_set<int> pids;
  if (!has_children()) return pids;  // rare (a shell's `cmd & exec jobwarden`): only then scan /proc
  for (const ProcStat& p : descendants(::getpid(), 0)) pids.insert(p.pid);
  return pids;
}

std::vector<ProcStat> scan_processes() {
  std::vector<ProcStat> all;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return all;
  std::string text;
  char path[320];
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    std::snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    ProcStat st;
    if (read_small_file(path, text, true) && parse_proc_stat(text, st)) all.push_back(std::move(st));
  }
  ::closedir(dir);
  return all;
}

std::string command_line(int pid, const std::string& comm) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
  std::string raw;
  if (!read_small_file(path, raw) || raw.empty()) return "[" + comm + "]";
  while (!raw.empty() && raw.back() == '\0') raw.pop_back();
  for (char& c : raw) {
    if (c == '\0' || c == '\n') c = ' ';
  }
  return raw;
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

std::vector<core::ProcessInfo> tree_of(int root, int also_session) {
  std::vector<core::ProcessInfo> out;
  for (const ProcStat& p : descendants(root, also_session)) {
    out.push_back({p.pid, p.ppid, p.pgid, p.sid, p.state, command_line(p.pid, p.comm)});
  }
  return out;
}

}  // namespace jobwarden::platform
