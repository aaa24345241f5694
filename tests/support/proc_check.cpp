#include "tests/support/proc_check.hpp"

#include <sched.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace jobwarden::testing {

std::vector<int> ready_pids(const std::string& output) {
  std::vector<int> pids;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("ready ", 0) == 0) pids.push_back(std::atoi(line.c_str() + 6));
  }
  return pids;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool helper_alive(int pid) {
  const std::string base = "/proc/" + std::to_string(pid);
  const std::string stat = read_file(base + "/stat");
  if (stat.empty()) return false;
  const auto close = stat.rfind(')');
  if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z') return false;
  return read_file(base + "/cmdline").find("jw-tree-helper") != std::string::npos;
}

std::vector<int> surviving(const std::vector<int>& pids) {
  std::vector<int> alive;
  for (int pid : pids) {
    if (helper_alive(pid)) alive.push_back(pid);
  }
  return alive;
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  return CPU_COUNT(&set);
}

}  // namespace jobwarden::testing
