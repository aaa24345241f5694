#include "executor/platform/cgroup_leaf.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
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

namespace {

// How many names create() tries ("<name>", "<name>.2", ...) before it gives
// up: each one lost means another live leaf or a leftover of that very name.
constexpr int k_name_tries = 8;

bool lost_race(int err) { return err == ENOENT || err == EWOULDBLOCK || err == EINTR; }

}  // namespace

UniqueFd claim_unowned_leaf(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid() || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return UniqueFd();
  // A removed cgroup directory keeps no files: locked after its removal.
  if (::faccessat(fd.get(), "cgroup.procs", F_OK, 0) != 0) return UniqueFd();
  return fd;
}

// The lock is the one system call ownership adds to a start: the open is
// clone3's descriptor, and cgroup.procs, opened relative to it, also shows
// that the directory we locked is still there. Between our mkdir and our
// flock a sweeper may have locked and removed it (our open or openat then
// fails with ENOENT, or the flock with EWOULDBLOCK while it works), or a
// jobwarden of the same name made it anew and locked it first: the name is
// lost, and not removed by us, since it is not ours.
CgroupLeaf::Take CgroupLeaf::take(const CgroupPlan& plan, const std::string& name, core::SysError& error,
                                  bool& in_v1) {
  m_name = name;
  m_v2 = plan.v2_parent + "/" + name;
  m_cgroup_kill = plan.cgroup_kill;
  m_v2_memory = plan.v2_memory;
  // errno is saved before the text is built.
  const auto fail = [&](int err, const char* op, const std::string& path) {
    error = core::SysError{std::string(op) + " " + path, err};
    return lost_race(err) ? Take::lost : Take::failed;
  };
  m_dir.reset(::open(m_v2.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (const int err = errno; !m_dir.valid()) return fail(err, "open", m_v2);
  if (::flock(m_dir.get(), LOCK_EX | LOCK_NB) != 0) return fail(errno, "flock", m_v2);
  m_procs.reset(::openat(m_dir.get(), "cgroup.procs", O_WRONLY | O_CLOEXEC));
  if (const int err = errno; !m_procs.valid()) return fail(err, "open", m_v2 + "/cgroup.procs");
  // Ours from here on: a failure below is no race, and removes it.
  m_events = RereadableFile(m_v2 + "/cgroup.events");
  if (const int err = errno; !m_events.valid()) {
    fail(err, "open", m_v2 + "/cgroup.events");
    return Take::failed;
  }
  if (plan.v1_memory_parent.empty()) return Take::taken;
  // A v1 cgroup of this name without our v2 twin is nobody's but the
  // sweepers' (a live owner's always has its locked v2 twin): never taken.
  const std::string v1 = plan.v1_memory_parent + "/" + name;
  in_v1 = true;
  if (::mkdir(v1.c_str(), 0755) != 0) {
    const int err = errno;
    fail(err, "mkdir", v1);
    return err == EEXIST ? Take::lost : Take::failed;
  }
  m_v1_memory = v1;
  // `tasks`, not cgroup.procs: the child joins before exec, while it is a
  // single thread, so moving that thread moves the process. A thread that
  // writes "0" (itself) to `tasks` skips the global cgroup_threadgroup_rwsem
  // on current kernels (kernel/cgroup: cgroup_procs_write_start), whose
  // write side, taken by every cgroup.procs write, waits for an RCU grace
  // period: 0.5-12 ms per start on our 2-CPU host against 0.01-0.04 ms
  // through `tasks` (Linux 6.18, bench/RESULTS.md). Older kernels take the
  // lock either way: never slower than cgroup.procs.
  m_v1_tasks.reset(::open((v1 + "/tasks").c_str(), O_WRONLY | O_CLOEXEC));
  if (const int err = errno; !m_v1_tasks.valid()) {
    fail(err, "open", v1 + "/tasks");
    return Take::failed;
  }
  return Take::taken;
}

core::Result<CgroupLeaf, core::SysError> CgroupLeaf::create(const CgroupPlan& plan, const std::string& name,
                                                         bool* v1_failed) {
  core::SysError error{"mkdir " + plan.v2_parent + "/" + name, EEXIST};
  for (int k = 1; k <= k_name_tries; ++k) {
    const std::string candidate = k == 1 ? name : name + "." + std::to_string(k);
    const std::string v2 = plan.v2_parent + "/" + candidate;
    if (::mkdir(v2.c_str(), 0755) != 0) {
      const int err = errno;
      if (err == EEXIST) continue;
      return core::unexpected(core::SysError{"mkdir " + v2, err});
    }
    CgroupLeaf leaf;
    bool in_v1 = false;
    switch (leaf.take(plan, candidate, error, in_v1)) {
      case Take::taken: return leaf;
      case Take::lost:
        // Ours to remove only when we hold its lock (a v1 twin that exists).
        if (leaf.m_procs.valid()) (void)leaf.remove();
        continue;
      case Take::failed:
        // Made by us a moment ago, and not lost to anyone (that is ENOENT
        // or EWOULDBLOCK): removed.
        (void)leaf.remove();
        if (v1_failed != nullptr) *v1_failed = in_v1;
        return core::unexpected(error);
    }
  }
  return core::unexpected(core::SysError{"mkdir " + plan.v2_parent + "/" + name + " (and " +
                                             std::to_string(k_name_tries - 1) + " other names): " + error.message(),
                                         EEXIST});
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
  m_procs.reset();
  m_v1_tasks.reset();
  m_events.close();
  for (std::string* dir : {&m_v1_memory, &m_v2}) {
    if (dir->empty()) continue;
    if (::rmdir(dir->c_str()) != 0 && errno != ENOENT) return false;
    dir->clear();
  }
  m_dir.reset();  // the lock, once both are gone
  return true;
}

}  // namespace jobwarden::platform
