#include "executor/platform/host_facts.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sched.h>
#include <string>
#include <unistd.h>

#include "executor/platform/cgroup_fs.hpp"
#include "executor/platform/fd.hpp"

namespace jobwarden::platform {
namespace {

// The tightest cpu.max quota from our cgroup up to the top of the v2 mount,
// in CPUs. Where the mount and our cgroup are comes from cgroup_fs, the one
// reader of mountinfo and /proc/self/cgroup (read once per process).
std::optional<double> cgroup_cpu_quota() {
  const CgroupPlacement& at = own_cgroup_placement();
  const CgroupMount& v2 = at.mounts.v2;
  std::string dir = cgroup_dir(v2, at.own.v2);
  if (dir.empty()) return {};
  std::optional<double> tightest;
  for (;;) {
    if (const auto text = read_small_file(dir + "/cpu.max")) {
      long long quota = 0, period = 0;
      if (std::sscanf(text->c_str(), "%lld %lld", &quota, &period) == 2 && period > 0) {
        const double cpus = static_cast<double>(quota) / static_cast<double>(period);
        if (!tightest || cpus < *tightest) tightest = cpus;
      }
    }
    if (dir.size() <= v2.mount_point.size()) break;
    dir = dir.substr(0, dir.rfind('/'));
  }
  return tightest;
}

}  // namespace

std::string cgroup2_mount_point() { return own_cgroup_placement().mounts.v2.mount_point; }

bool schedstat_available() {
  const auto text = read_small_file("/proc/thread-self/schedstat");
  return text && !text->empty();
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

std::optional<double> usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return {};
  double cpus = CPU_COUNT(&set);
  if (auto quota = cgroup_cpu_quota(); quota && *quota < cpus) cpus = *quota;
  return cpus > 0 ? std::optional<double>(cpus) : std::nullopt;
}

std::vector<int> affinity_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

std::optional<double> busy_cpu_seconds(const std::string& text, const std::vector<int>& cpus) {
  static const double k_ticks_per_second = static_cast<double>(::sysconf(_SC_CLK_TCK));
  unsigned long long busy = 0;
  std::size_t pos = 0, found = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    int cpu = -1;
    unsigned long long f[8] = {};
    if (text.compare(pos, 3, "cpu") == 0 && text[pos + 3] != ' ' &&
        std::sscanf(text.c_str() + pos, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &f[0], &f[1], &f[2],
                    &f[3], &f[4], &f[5], &f[6], &f[7]) == 9 &&
        std::find(cpus.begin(), cpus.end(), cpu) != cpus.end()) {
      busy += f[0] + f[1] + f[2] + f[5] + f[6] + f[7];  // user nice system (idle iowait) irq softirq steal
      ++found;
    }
    pos = end + 1;
  }
  if (found == 0) return std::nullopt;
  return static_cast<double>(busy) / k_ticks_per_second;
}

std::optional<unsigned long long> cpu_pressure_some_us() {
  const auto text = read_small_file("/proc/pressure/cpu");
  return text ? pressure_some_total_us(*text) : std::nullopt;
}

}  // namespace jobwarden::platform
