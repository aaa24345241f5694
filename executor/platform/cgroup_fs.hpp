#pragma once
// Where the cgroup hierarchies are and where this process sits in them,
// discovered from /proc/self/mountinfo and /proc/self/cgroup — never
// hard-coded. A unified host mounts cgroup v2 at /sys/fs/cgroup; a hybrid
// one at /sys/fs/cgroup/unified, with the v1 controllers (memory among them)
// in hierarchies of their own.

#include <optional>
#include <string>
#include <vector>

namespace jobwarden::platform {

struct CgroupMount {
  std::string mount_point;  // where it is mounted ("" when it is not)
  std::string root;         // the hierarchy path the mount shows (mountinfo field 4)
};

struct CgroupMounts {
  CgroupMount v2;         // the cgroup2 mount
  CgroupMount v1_memory;  // a cgroup v1 mount holding the memory controller
};

// Parses /proc/self/mountinfo text.
CgroupMounts parse_mountinfo(const std::string& text);

struct OwnCgroups {
  std::string v2;         // "0::<path>"; "" when absent
  std::string v1_memory;  // "N:...memory...:<path>"; "" when absent
};

// Parses /proc/self/cgroup text.
OwnCgroups parse_proc_cgroup(const std::string& text);

// The directory of hierarchy path `path` under `mount` ("" when the mount
// does not show that path).
std::string cgroup_dir(const CgroupMount& mount, const std::string& path);

// This process's mounts and cgroups, read now.
CgroupMounts discover_cgroup_mounts();
OwnCgroups own_cgroups();

// Both, read at the first call and kept for the life of the process: the
// choice of the leaves' parent (cgroup_containment.cpp) and the cpu.max
// quota of every attempt (host_facts.cpp) use the same reading instead of
// reading both files again. jobwarden never moves itself between cgroups; a
// move by someone else while it runs is not followed (the leaves' parent
// was chosen at start anyway).
struct CgroupPlacement {
  CgroupMounts mounts;
  OwnCgroups own;
};
const CgroupPlacement& own_cgroup_placement();

// "key value" lines (cgroup.events, memory.events, cpu.stat): the value of
// `key`, when present.
std::optional<unsigned long long> keyed_value(const std::string& text, const std::string& key);

// A PSI file's (cpu.pressure, /proc/pressure/cpu) "some" line: its total, in
// microseconds, when the text starts with one.
std::optional<unsigned long long> pressure_some_total_us(const std::string& text);

// The pids in a cgroup.procs file's text (any whitespace-separated list:
// /proc/PID/task/TID/children too).
std::vector<int> parse_pid_list(const std::string& text);

}  // namespace jobwarden::platform
