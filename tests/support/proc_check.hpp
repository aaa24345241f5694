#pragma once
// Assertions about real processes for the platform and e2e tiers.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace jobwarden::testing {

// The pids announced by jw-tree-helper ("ready <pid> <role>") in `output`.
std::vector<int> ready_pids(const std::string& output);

// True when `pid` is a live (non-zombie) process still running jw-tree-helper:
// a pid reused by an unrelated process does not count.
bool helper_alive(int pid);

// The subset of `pids` still alive as jw-tree-helper.
std::vector<int> surviving(const std::vector<int>& pids);

// Polls `done` every few milliseconds until it holds or `limit` passes.
// Returns whether it held. For detecting hangs, not for timing.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit);

std::string read_file(const std::string& path);

// The CPUs in this process's affinity mask: an upper bound of the usable CPUs
// jobwarden reports (a cgroup's cpu.max may lower them, to a fraction of one).
int affinity_cpus();

}  // namespace jobwarden::testing
