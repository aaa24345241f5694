#include "executor/platform/cgroup_leaf.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "executor/platform/cgroup_fs.hpp"

namespace jobwarden::platform {
namespace {

std::string read_text(const std::string& path) { return read_small_file(path).value_or(""); }

std::optional<unsigned long long> read_number(const std::string& path) {
  const auto text = read_small_file(path);
  if (!text || text->empty()) return std::nullopt;
  return std::strtoull(text->c_str(), nullptr, 10);
}

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// Waits (at most ~100 ms) for cgroup.events "frozen 1"; the kernel signals
// each change of cgroup.events to poll() as POLLPRI.
void wait_until_frozen(const std::string& dir) {
  const std::string events = dir + "/cgroup.events";
  UniqueFd fd(::open(events.c_str(), O_RDONLY | O_CLOEXEC));
  for (int round = 0; round < 50 && fd.valid(); ++round) {
    char buf[256];
    const ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
    if (n <= 0) return;
    buf[n] = '\0';
    if (keyed_value(buf, "frozen").value_or(0) != 0) return;
    pollfd p{fd.get(), POLLPRI, 0};
    (void)::poll(&p, 1, 2);
  }
}

}  // namespace

core::Status<std::string> write_cgroup_file(const std::string& path, const std::string& text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return core::unexpected(errno_text(path));
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return core::unexpected(errno_text("write " + text + " to " + path));
  }
  return core::Ok{};
}

core::Status<core::SysError> make_attempt_cgroup(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0) return core::Ok{};
  if (errno == EEXIST && ::rmdir(path.c_str()) == 0 && ::mkdir(path.c_str(), 0755) == 0) return core::Ok{};
  if (errno == EBUSY) errno = EEXIST;  // populated: the rmdir's answer is not the reason
  return core::unexpected(core::SysError{"mkdir " + path, errno});
}

core::Result<CgroupLeaf, std::string> CgroupLeaf::create(const CgroupPlan& plan, const std::string& name) {
  const std::string v2 = plan.v2_parent + "/" + name;
  if (auto made = make_attempt_cgroup(v2); !made) return core::unexpected(made.error().message());
  if (!plan.v1_memory_parent.empty()) {
    if (auto made = make_attempt_cgroup(plan.v1_memory_parent + "/" + name); !made) {
      (void)::rmdir(v2.c_str());
      return core::unexpected(made.error().message());
    }
  }
  return adopt(plan, name);
}

core::Result<CgroupLeaf, std::string> CgroupLeaf::adopt(const CgroupPlan& plan, const std::string& name) {
  CgroupLeaf leaf;
  leaf.m_v2 = plan.v2_parent + "/" + name;
  if (!plan.v1_memory_parent.empty()) leaf.m_v1_memory = plan.v1_memory_parent + "/" + name;
  leaf.m_cgroup_kill = plan.cgroup_kill;
  leaf.m_v2_memory = plan.v2_memory;
  core::Status<std::string> opened = core::Ok{};
  leaf.m_dir.reset(::open(leaf.m_v2.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  leaf.m_procs.reset(::open((leaf.m_v2 + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
  leaf.m_events = RereadableFile(leaf.m_v2 + "/cgroup.events");
  if (!leaf.m_dir.valid() || !leaf.m_procs.valid() || !leaf.m_events.valid()) {
    opened = core::unexpected(errno_text("open " + leaf.m_v2));
  }
  if (opened && !leaf.m_v1_memory.empty()) {
    // `tasks`, not cgroup.procs: the child joins before exec, while it is a
    // single thread, so moving that thread moves the process. A thread that
    // writes "0" (itself) to `tasks` skips the global cgroup_threadgroup_rwsem
    // on current kernels (kernel/cgroup: cgroup_procs_write_start), whose
    // write side, taken by every cgroup.procs write, waits for an RCU grace
    // period: 0.5-12 ms per start on our 2-CPU host against 0.01-0.04 ms
    // through `tasks` (Linux 6.18, bench/RESULTS.md). Older kernels take the
    // lock either way: never slower than cgroup.procs.
    leaf.m_v1_tasks.reset(::open((leaf.m_v1_memory + "/tasks").c_str(), O_WRONLY | O_CLOEXEC));
    if (!leaf.m_v1_tasks.valid()) opened = core::unexpected(errno_text("open " + leaf.m_v1_memory));
  }
  if (!opened) {
    (void)leaf.remove();
    return core::unexpected(opened.error());
  }
  return leaf;
}

core::Status<std::string> CgroupLeaf::limit_memory(unsigned long long limit) const {
  const std::string bytes = std::to_string(limit);
  if (m_v2_memory) {
    if (auto w = write_cgroup_file(m_v2 + "/memory.max", bytes); !w) return w;
    if (::access((m_v2 + "/memory.swap.max").c_str(), F_OK) != 0) return core::Ok{};
    return write_cgroup_file(m_v2 + "/memory.swap.max", "0");
  }
  if (m_v1_memory.empty()) return core::unexpected(std::string("no memory controller for the step's cgroup"));
  if (auto w = write_cgroup_file(m_v1_memory + "/memory.limit_in_bytes", bytes); !w) return w;
  const std::string memsw = m_v1_memory + "/memory.memsw.limit_in_bytes";
  if (::access(memsw.c_str(), F_OK) != 0) return core::Ok{};
  return write_cgroup_file(memsw, bytes);
}

std::vector<int> CgroupLeaf::pids() const { return parse_pid_list(read_text(m_v2 + "/cgroup.procs")); }

bool cgroup_populated(const std::string& dir) {
  if (const auto events = read_small_file(dir + "/cgroup.events")) return keyed_value(*events, "populated").value_or(0) != 0;
  return !parse_pid_list(read_text(dir + "/cgroup.procs")).empty();
}

// Through the descriptor kept open, not a fresh open: reading it also
// re-arms its POLLPRI (kernfs remembers what each open file has seen).
bool CgroupLeaf::populated() const {
  const auto events = m_events.read();
  if (!events) return cgroup_populated(m_v2);
  return keyed_value(*events, "populated").value_or(0) != 0;
}

// Without cgroup.kill: once the cgroup is frozen nothing in it can fork
// between our read of cgroup.procs and the kills (freezing takes effect
// task by task: cgroup.events says "frozen 1" when it is complete; a task
// forked before that is found by the next sweep). SIGKILL reaches frozen
// tasks.
void kill_cgroup(const std::string& dir, bool use_cgroup_kill) {
  if (use_cgroup_kill && write_cgroup_file(dir + "/cgroup.kill", "1")) return;
  const bool frozen = write_cgroup_file(dir + "/cgroup.freeze", "1").ok();
  if (frozen) wait_until_frozen(dir);
  for (int pid : parse_pid_list(read_text(dir + "/cgroup.procs"))) (void)::kill(pid, SIGKILL);
  if (frozen) (void)write_cgroup_file(dir + "/cgroup.freeze", "0");
}

void CgroupLeaf::kill() const { kill_cgroup(m_v2, m_cgroup_kill); }

std::optional<unsigned long long> read_oom_kills(const std::string& v2_dir, const std::string& v1_memory_dir) {
  if (const auto v = keyed_value(read_text(v2_dir + "/memory.events"), "oom_kill")) return v;
  if (v1_memory_dir.empty()) return std::nullopt;
  return keyed_value(read_text(v1_memory_dir + "/memory.oom_control"), "oom_kill");
}

std::optional<unsigned long long> read_peak_memory(const std::string& v2_dir, const std::string& v1_memory_dir) {
  if (const auto v = read_number(v2_dir + "/memory.peak")) return v;
  if (v1_memory_dir.empty()) return std::nullopt;
  return read_number(v1_memory_dir + "/memory.max_usage_in_bytes");
}

std::optional<unsigned long long> CgroupLeaf::oom_kills() const { return read_oom_kills(m_v2, m_v1_memory); }

std::optional<unsigned long long> CgroupLeaf::peak_memory() const { return read_peak_memory(m_v2, m_v1_memory); }

std::optional<unsigned long long> CgroupLeaf::cpu_usage_usec() const {
  return keyed_value(read_text(m_v2 + "/cpu.stat"), "usage_usec");
}

bool CgroupLeaf::remove() {
  m_dir.reset();
  m_procs.reset();
  m_v1_tasks.reset();
  m_events.close();
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
