#include "executor/platform/cgroup_fs.hpp"

#include <cstdlib>
#include <sstream>

#include "executor/platform/fd.hpp"

namespace jobwarden::platform {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, sep)) out.push_back(item);
  return out;
}

// mountinfo escapes blanks and backslashes in paths as \040, \134, ...
std::string unescape_octal(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const std::string oct = s.substr(i + 1, 3);
      if (oct.size() == 3 && oct.find_first_not_of("01234567") == std::string::npos) {
        out.push_back(static_cast<char>(std::strtol(oct.c_str(), nullptr, 8)));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

CgroupMounts parse_mountinfo(const std::string& text) {
  CgroupMounts m;
  for (const std::string& line : split(text, '\n')) {
    const auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    const auto left = split(line.substr(0, dash), ' ');
    const auto right = split(line.substr(dash + 3), ' ');
    if (left.size() < 5 || right.size() < 3) continue;
    const CgroupMount mount{unescape_octal(left[4]), unescape_octal(left[3])};
    if (right[0] == "cgroup2" && m.v2.mount_point.empty()) m.v2 = mount;
    if (right[0] == "cgroup" && m.v1_memory.mount_point.empty()) {
      for (const std::string& option : split(right[2], ',')) {
        if (option == "memory") m.v1_memory = mount;
      }
    }
  }
  return m;
}

OwnCgroups parse_proc_cgroup(const std::string& text) {
  OwnCgroups own;
  for (const std::string& line : split(text, '\n')) {
    const auto first = line.find(':');
    const auto second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (line.compare(0, first, "0") == 0 && controllers.empty()) own.v2 = path;
    for (const std::string& c : split(controllers, ',')) {
      if (c == "memory") own.v1_memory = path;
    }
  }
  return own;
}

std::string cgroup_dir(const CgroupMount& mount, const std::string& path) {
  if (mount.mount_point.empty() || path.empty() || path[0] != '/') return "";
  if (mount.root == "/") return path == "/" ? mount.mount_point : mount.mount_point + path;
  if (path == mount.root) return mount.mount_point;
  if (path.compare(0, mount.root.size() + 1, mount.root + "/") == 0) {
    return mount.mount_point + path.substr(mount.root.size());
  }
  return "";  // the mount does not show our cgroup (another namespace's view)
}

CgroupMounts discover_cgroup_mounts() {
  const auto text = read_small_file("/proc/self/mountinfo");
  return text ? parse_mountinfo(*text) : CgroupMounts{};
}

OwnCgroups own_cgroups() {
  const auto text = read_small_file("/proc/self/cgroup");
  return text ? parse_proc_cgroup(*text) : OwnCgroups{};
}

const CgroupPlacement& own_cgroup_placement() {
  static const CgroupPlacement k_read_once{discover_cgroup_mounts(), own_cgroups()};  // thread-safe, once
  return k_read_once;
}

std::optional<unsigned long long> keyed_value(const std::string& text, const std::string& key) {
  for (const std::string& line : split(text, '\n')) {
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 && line[key.size()] == ' ') {
      return std::strtoull(line.c_str() + key.size() + 1, nullptr, 10);
    }
  }
  return std::nullopt;
}

std::optional<unsigned long long> pressure_some_total_us(const std::string& text) {
  const auto end = text.find('\n');
  const auto at = text.find(" total=");
  if (text.compare(0, 5, "some ") != 0 || at == std::string::npos || at > end) return std::nullopt;
  return std::strtoull(text.c_str() + at + 7, nullptr, 10);
}

std::vector<int> parse_pid_list(const std::string& text) {
  std::vector<int> pids;
  const char* p = text.c_str();
  char* end = nullptr;
  for (long pid = std::strtol(p, &end, 10); end != p; pid = std::strtol(p, &end, 10)) {
    if (pid > 0) pids.push_back(static_cast<int>(pid));
    p = end;
  }
  return pids;
}

}  // namespace jobwarden::platform
