#include "executor/platform/leaf_sweeper.hpp"

#include <cerrno>
#include <csignal>
#include <climits>
#include <algorithm>
#include <cstdlib>
#include <dirent.h>
#include <functional>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "executor/platform/cgroup_fs.hpp"
#include "executor/platform/cgroup_leaf.hpp"
#include "executor/platform/fd.hpp"
#include "executor/platform/proc_tree.hpp"

namespace jobwarden::platform {
namespace {

using Clock = std::chrono::steady_clock;

bool all_digits(const std::string& text) {
  return !text.empty() && text.size() <= 9 && text.find_first_not_of("0123456789") == std::string::npos;
}

// "jobwarden-<pid>-<attempt>" or "jobwarden-<pid>-<attempt>.<k>" (the name
// create() falls back to when the first is taken), digits only.
bool is_leaf_of(const std::string& name, int pid) {
  const std::string prefix = "jobwarden-" + std::to_string(pid) + "-";
  if (name.rfind(prefix, 0) != 0) return false;
  const std::string rest = name.substr(prefix.size());
  const auto dot = rest.find('.');
  return all_digits(rest.substr(0, dot)) && (dot == std::string::npos || all_digits(rest.substr(dot + 1)));
}

// The pid a leaf's name carries ("jobwarden-PID-..." or, from older
// jobwardens, "jobwarden-probe-PID"); 0 for any other name.
int pid_in_name(const std::string& name) {
  const std::string probe = "jobwarden-probe-", leaf = "jobwarden-";
  std::string digits;
  if (name.rfind(probe, 0) == 0) {
    digits = name.substr(probe.size());
  } else if (name.rfind(leaf, 0) == 0) {
    digits = name.substr(leaf.size(), name.find('-', leaf.size()) - leaf.size());
  }
  return all_digits(digits) ? std::atoi(digits.c_str()) : 0;
}

// The older jobwardens' rule for their unlocked leaves: PID is no process
// in our pid namespace.
bool pid_gone_here(int pid) { return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH; }

std::vector<std::string> subdirectories(const std::string& dir, const std::function<bool(const std::string&)>& wanted) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_type == DT_DIR && wanted(e->d_name)) names.emplace_back(e->d_name);
  }
  ::closedir(d);
  return names;
}

std::vector<std::string> leaves_of(const std::string& dir, int pid) {
  return subdirectories(dir, [pid](const std::string& name) { return is_leaf_of(name, pid); });
}

// Whether `pid` runs this very program: a jobwarden that may still own its
// leaves (any other process under a reused pid does not).
bool jobwarden_running(int pid) {
  char own[PATH_MAX], theirs[PATH_MAX];
  const ssize_t a = ::readlink("/proc/self/exe", own, sizeof own - 1);
  const ssize_t b = ::readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), theirs, sizeof theirs - 1);
  return a > 0 && b == a && std::string(own, static_cast<std::size_t>(a)) == std::string(theirs, static_cast<std::size_t>(b));
}

std::vector<core::ProcessInfo> members_of(const std::string& dir) {
  std::vector<core::ProcessInfo> out;
  for (int pid : parse_pid_list(read_small_file(dir + "/cgroup.procs").value_or(""))) {
    const auto p = read_proc_stat(pid);
    if (p && p->state != 'Z' && p->state != 'X') out.push_back({p->pid, p->ppid, p->pgid, p->sid, p->state, command_line(p->pid, p->comm)});
  }
  return out;
}

// Waits for "populated 0": cgroup.events signals POLLPRI on every change.
bool wait_empty(const std::string& dir, Clock::time_point until) {
  const UniqueFd events(::open((dir + "/cgroup.events").c_str(), O_RDONLY | O_CLOEXEC));
  while (cgroup_populated(dir)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{events.get(), POLLPRI, 0};
    (void)::poll(&p, 1, static_cast<int>(std::min<long long>(left, 100)));
  }
  return true;
}

// rmdir, retried briefly: members that just died leave a v1 cgroup late.
bool remove_dir(const std::string& dir, Clock::time_point until) {
  for (;;) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
    if (errno != EBUSY || Clock::now() >= until) return false;
    pollfd none{-1, 0, 0};
    (void)::poll(&none, 0, 10);
  }
}

std::string trimmed(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

}  // namespace

void sweep_stale_leaves(const std::string& v2_parent, const std::string& v1_memory_parent) {
  const auto stale = [](const std::string& name) { return pid_gone_here(pid_in_name(name)); };
  for (const std::string& name : subdirectories(v2_parent, stale)) {
    const std::string v2 = v2_parent + "/" + name;
    const UniqueFd claim = claim_unowned_leaf(v2);
    if (!claim.valid() || cgroup_populated(v2)) continue;
    // The v1 twin first: it is never left without the v2 leaf whose lock covers it.
    const std::string v1 = v1_memory_parent.empty() ? "" : v1_memory_parent + "/" + name;
    if (!v1.empty() && ::rmdir(v1.c_str()) != 0 && errno != ENOENT) continue;
    (void)::rmdir(v2.c_str());
  }
  if (v1_memory_parent.empty()) return;
  for (const std::string& name : subdirectories(v1_memory_parent, stale)) {
    if (::access((v2_parent + "/" + name).c_str(), F_OK) != 0 && errno == ENOENT) {
      (void)::rmdir((v1_memory_parent + "/" + name).c_str());
    }
  }
}

LeafSweep sweep_recorded_leaves(const LeafPlacement& ours, int recorded_pid, const std::string& recorded_v2_parent,
                                core::Millis kill_wait) {
  LeafSweep sweep;
  if (trimmed(recorded_v2_parent) != trimmed(ours.v2_parent)) {
    sweep.refused = "not where jobwarden makes its cgroups here (" + ours.v2_parent + ")";
    return sweep;
  }
  if (recorded_pid <= 0 || recorded_pid == ours.owner_pid || jobwarden_running(recorded_pid)) {
    sweep.refused = "its jobwarden (pid " + std::to_string(recorded_pid) + ") is still running";
    return sweep;
  }
  const auto until = Clock::now() + kill_wait;
  for (const std::string& name : leaves_of(ours.v2_parent, recorded_pid)) {
    const std::string dir = ours.v2_parent + "/" + name;
    // Held until both are removed; a leaf still owned (its jobwarden or its
    // guardian lives, in whatever pid namespace) is not ours to kill.
    const UniqueFd claim = claim_unowned_leaf(dir);
    if (!claim.valid()) {
      if (::access(dir.c_str(), F_OK) == 0) sweep.owned.push_back(dir);
      continue;
    }
    const auto members = members_of(dir);
    sweep.killed.insert(sweep.killed.end(), members.begin(), members.end());
    kill_cgroup(dir);
    if (!wait_empty(dir, until)) {
      const auto left = members_of(dir);
      sweep.survivors.insert(sweep.survivors.end(), left.begin(), left.end());
      continue;
    }
    // The v1 twin first: it is never left without the v2 leaf whose lock covers it.
    const std::string v1 = ours.v1_memory_parent.empty() ? "" : ours.v1_memory_parent + "/" + name;
    if (!v1.empty() && ::access(v1.c_str(), F_OK) == 0) {
      if (!remove_dir(v1, until)) continue;
      sweep.removed.push_back(v1);
    }
    if (remove_dir(dir, until)) sweep.removed.push_back(dir);
  }
  return sweep;
}

}  // namespace jobwarden::platform
