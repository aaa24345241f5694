#include "executor/platform/cgroup_leaf.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "executor/platform/cgroup_fs.hpp"

namespace jobwarden::platform {
namespace {

std::string read_text(const std::string& path) {
  std::string text;
  if (!read_small_file(path.c_str(), text)) return "";
  return text;
}

std::optional<unsigned long long> read_number(const std::string& path) {
  std::string text;
  if (!read_small_file(path.c_str(), text) || text.empty()) return std::nullopt;
  return std::strtoull(text.c_str(), nullptr, 10);
}

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

std::string write_cgroup_file(const std::string& path, const std::string& text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_text(path);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return errno_text("write " + text + " to " + path);
  }
  return "";
}

core::Result<CgroupLeaf, std::string> CgroupLeaf::create(const CgroupPlan& plan, const std::string& name,
                                                         std::optional<unsigned long long> memory_limit) {
  CgroupLeaf leaf;
  const std::string v2 = plan.v2_parent + "/" + name;
  if (::mkdir(v2.c_str(), 0755) != 0) return core::unexpected(errno_text("mkdir " + v2));
  leaf.m_v2 = v2;
  std::string error;
  if (!plan.v1_memory_parent.empty()) {
    const std::string v1 = plan.v1_memory_parent + "/" + name;
    if (::mkdir(v1.c_str(), 0755) == 0) {
      leaf.m_v1_memory = v1;
    } else {
      error = errno_text("mkdir " + v1);
    }
  }
  leaf.m_dir.reset(::open(v2.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  leaf.m_procs.reset(::open((v2 + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
  if (error.empty() && (!leaf.m_dir.valid() || !leaf.m_procs.valid())) error = errno_text("open " + v2);
  if (error.empty() && !leaf.m_v1_memory.empty()) {
    leaf.m_v1_procs.reset(::open((leaf.m_v1_memory + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
    if (!leaf.m_v1_procs.valid()) error = errno_text("open " + leaf.m_v1_memory);
  }
  if (error.empty() && memory_limit) {
    const std::string bytes = std::to_string(*memory_limit);
    if (plan.v2_memory) {
      error = write_cgroup_file(v2 + "/memory.max", bytes);
      if (error.empty() && ::access((v2 + "/memory.swap.max").c_str(), F_OK) == 0) {
        error = write_cgroup_file(v2 + "/memory.swap.max", "0");
      }
    } else if (!leaf.m_v1_memory.empty()) {
      error = write_cgroup_file(leaf.m_v1_memory + "/memory.limit_in_bytes", bytes);
      const std::string memsw = leaf.m_v1_memory + "/memory.memsw.limit_in_bytes";
      if (error.empty() && ::access(memsw.c_str(), F_OK) == 0) error = write_cgroup_file(memsw, bytes);
    } else {
      error = "no memory controller for the step's cgroup";
    }
  }
  if (!error.empty()) {
    (void)leaf.remove();
    return core::unexpected(error);
  }
  return leaf;
}

std::vector<int> CgroupLeaf::pids() const { return parse_pid_list(read_text(m_v2 + "/cgroup.procs")); }

bool CgroupLeaf::populated() const {
  return keyed_value(read_text(m_v2 + "/cgroup.events"), "populated").value_or(0) != 0;
}

bool CgroupLeaf::has_kill() const { return ::access((m_v2 + "/cgroup.kill").c_str(), F_OK) == 0; }

// Without cgroup.kill, a frozen cgroup cannot fork between our read of
// cgroup.procs and the kills; SIGKILL reaches frozen tasks.
void CgroupLeaf::kill() const {
  if (write_cgroup_file(m_v2 + "/cgroup.kill", "1").empty()) return;
  const bool frozen = write_cgroup_file(m_v2 + "/cgroup.freeze", "1").empty();
  for (int pid : pids()) (void)::kill(pid, SIGKILL);
  if (frozen) (void)write_cgroup_file(m_v2 + "/cgroup.freeze", "0");
}

std::optional<unsigned long long> CgroupLeaf::oom_kills() const {
  if (const auto v = keyed_value(read_text(m_v2 + "/memory.events"), "oom_kill")) return v;
  if (m_v1_memory.empty()) return std::nullopt;
  return keyed_value(read_text(m_v1_memory + "/memory.oom_control"), "oom_kill");
}

std::optional<unsigned long long> CgroupLeaf::peak_memory() const {
  if (const auto v = read_number(m_v2 + "/memory.peak")) return v;
  if (m_v1_memory.empty()) return std::nullopt;
  return read_number(m_v1_memory + "/memory.max_usage_in_bytes");
}

std::optional<unsigned long long> CgroupLeaf::cpu_usage_usec() const {
  return keyed_value(read_text(m_v2 + "/cpu.stat"), "usage_usec");
}

std::optional<unsigned long long> CgroupLeaf::cpu_some_usec() const {
  const std::string text = read_text(m_v2 + "/cpu.pressure");
  const auto at = text.find("total=");
  if (text.compare(0, 4, "some") != 0 || at == std::string::npos) return std::nullopt;
  return std::strtoull(text.c_str() + at + 6, nullptr, 10);
}

bool CgroupLeaf::remove() {
  m_dir.reset();
  m_procs.reset();
  m_v1_procs.reset();
  bool gone = true;
  for (std::string* dir : {&m_v2, &m_v1_memory}) {
    if (dir->empty()) continue;
    if (::rmdir(dir->c_str()) == 0 || errno == ENOENT) {
      dir->clear();
    } else {
      gone = false;
    }
  }
  return gone;
}

}  // namespace jobwarden::platform
