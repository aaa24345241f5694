#include "executor/platform/cgroup_fs.hpp"

#include <cstdlib>
#include <string_view>

#include "executor/platform/fd.hpp"

namespace jobwarden::platform {
namespace {

// The items between `sep`s, like std::getline over `s` (no item after a
// final `sep`), as views into `s`: these files are parsed at every start
// and every 200 ms while a step runs, and a stream and a string per item
// made most of the cost (8 % of a `run -- true`'s instructions, callgrind).
std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  while (at < s.size()) {
    std::size_t end = s.find(sep, at);
    if (end == std::string_view::npos) end = s.size();
    out.push_back(s.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

// mountinfo escapes blanks and backslashes in paths as \040, \134, ...
std::string unescape_octal(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const std::string_view oct = s.substr(i + 1, 3);
      if (oct.find_first_not_of("01234567") == std::string_view::npos) {
        out.push_back(static_cast<char>((oct[0] - '0') * 64 + (oct[1] - '0') * 8 + (oct[2] - '0')));
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
  for (const std::string_view line : split(text, '\n')) {
    const auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    // Only cgroup mounts are split into fields: the others are most lines.
    if (line.compare(dash + 3, 6, "cgroup") != 0) continue;
    const auto left = split(line.substr(0, dash), ' ');
    const auto right = split(line.substr(dash + 3), ' ');
    if (left.size() < 5 || right.size() < 3) continue;
    const CgroupMount mount{unescape_octal(left[4]), unescape_octal(left[3])};
    if (right[0] == "cgroup2" && m.v2.mount_point.empty()) m.v2 = mount;
    if (right[0] == "cgroup" && m.v1_memory.mount_point.empty()) {
      for (const std::string_view option : split(right[2], ',')) {
        if (option == "memory") m.v1_memory = mount;
      }
    }
  }
  return m;
}

OwnCgroups parse_proc_cgroup(const std::string& text) {
  OwnCgroups own;
  for (const std::string_view line : split(text, '\n')) {
    const auto first = line.find(':');
    const auto second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    const std::string_view controllers = line.substr(first + 1, second - first - 1);
    const std::string_view path = line.substr(second + 1);
    if (line.substr(0, first) == "0" && controllers.empty()) own.v2 = path;
    for (const std::string_view c : split(controllers, ',')) {
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
  for (const std::string_view line : split(text, '\n')) {
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ' ') {
      // The view points into `text`, NUL-terminated: strtoull stops at the
      // line's end ('\n') or the text's.
      return std::strtoull(line.data() + key.size() + 1, nullptr, 10);
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
