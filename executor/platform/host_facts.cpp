#include "executor/platform/host_facts.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sched.h>
#include <string>
#include <unistd.h>

#include "executor/platform/fd.hpp"

namespace jobwarden::platform {
namespace {

// The cgroup v2 mount point, from /proc/self/mountinfo (it is /sys/fs/cgroup
// on unified hosts, /sys/fs/cgroup/unified on hybrid ones).
std::string cgroup2_mount() {
  std::string text;
  if (!read_small_file("/proc/self/mountinfo", text)) return "";
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    const auto dash = line.find(" - cgroup2 ");
    if (dash == std::string::npos) continue;
    char root[512], mount[512];
    if (std::sscanf(line.c_str(), "%*d %*d %*s %511s %511s", root, mount) == 2) return mount;
  }
  return "";
}

// Our cgroup v2 path relative to the mount ("0::/path" in /proc/self/cgroup).
std::string own_cgroup() {
  std::string text;
  if (!read_small_file("/proc/self/cgroup", text)) return "";
  const auto at = text.find("0::");
  if (at == std::string::npos) return "";
  const auto end = text.find('\n', at);
  return text.substr(at + 3, end == std::string::npos ? std::string::npos : end - at - 3);
}

// The tightest cpu.max quota from our cgroup up to the root, in CPUs.
std::optional<double> cgroup_cpu_quota() {
  const std::string mount = cgroup2_mount();
  std::string path = own_cgroup();
  if (mount.empty() || path.empty()) return {};
  std::optional<double> tightest;
  std::string text;
  for (;;) {
    if (read_small_file((mount + path + "/cpu.max").c_str(), text)) {
      long long quota = 0, period = 0;
      if (std::sscanf(text.c_str(), "%lld %lld", &quota, &period) == 2 && period > 0) {
        const double cpus = static_cast<double>(quota) / static_cast<double>(period);
        if (!tightest || cpus < *tightest) tightest = cpus;
      }
    }
    if (path == "/" || path.empty()) break;
    const auto slash = path.rfind('/');
    path = slash == 0 ? "/" : path.substr(0, slash);
  }
  return tightest;
}

}  // namespace

std::string cgroup2_mount_point() { return cgroup2_mount(); }

bool schedstat_available() {
  std::string text;
  return read_small_file("/proc/thread-self/schedstat", text) && !text.empty();
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

std::optional<unsigned long long> cpu_pressure_some_us() {
  std::string text;
  if (!read_small_file("/proc/pressure/cpu", text)) return {};
  const auto at = text.find("total=");
  if (at == std::string::npos || text.compare(0, 4, "some") != 0) return {};
  return std::strtoull(text.c_str() + at + 6, nullptr, 10);
}

}  // namespace jobwarden::platform
