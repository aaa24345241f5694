#include "executor/platform/spawn.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/sched.h>  // clone_args, CLONE_INTO_CGROUP
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include "executor/platform/environment.hpp"
#include "executor/platform/fd.hpp"
#include "executor/platform/signals.hpp"

namespace jobwarden::platform {
namespace {

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// What the child needs between fork and exec, prepared by the parent (the
// child may only make async-signal-safe calls: no allocation, no locks).
struct ChildPlan {
  const char* path;
  char* const* argv;
  char* const* envp;
  int out;
  int err;
  int report;  // close-on-exec pipe: the errno of a failed step travels back
  bool pdeathsig;
  pid_t parent;
  const gid_t* groups;  // the step user's, or nullptr: keep jobwarden's identity
  std::size_t group_count;
  gid_t gid;
  uid_t uid;
  int join_procs_fd;     // -1, or a cgroup.procs to join (the v2 leaf when not born in it)
  int join_v1_tasks_fd;  // -1, or the v1 memory cgroup's `tasks` (the child is one thread here)
  bool no_new_privs;
};

// Cgroup join failures travel back as a negative errno (exec failures are
// positive): the start failed on our side, not the step's.
bool join_cgroup(int procs_fd) { return procs_fd < 0 || ::write(procs_fd, "0", 1) == 1; }

// The child's whole life between fork and exec, in this order:
//   1. signal dispositions back to default, empty mask
//   2. into the attempt's cgroups (while still privileged; everything after
//      this, the step's own code above all, is contained and accounted)
//   3. a session of its own (the step leads its session and process group)
//   4. PR_SET_PDEATHSIG (last resort if jobwarden dies)
//   5. stdin from /dev/null, stdout/stderr to the pipes, close-on-exec above 2
//   6. the step user's identity (admin's run_as): supplementary groups, gid,
//      uid, in that order (after setuid nothing else could be changed), last
//      before exec so that everything before still runs with jobwarden's rights
//   7. PR_SET_NO_NEW_PRIVS when asked (inherited by the whole tree, never undone)
//   8. execve
// Only async-signal-safe calls (we are single-threaded, but the rule keeps
// this safe if that ever changes), and no writes to memory but its own stack
// (and errno): the child may be running in jobwarden's memory (start_child).
// Never returns.
[[noreturn]] void exec_child(const ChildPlan& p) {
  reset_signals_in_child();                                         // 1
  if (!join_cgroup(p.join_procs_fd) || !join_cgroup(p.join_v1_tasks_fd)) {  // 2
    const int e = -errno;
    (void)!::write(p.report, &e, sizeof e);
    ::_exit(125);
  }
  if (::setsid() < 0) goto fail;                                    // 3
  if (p.pdeathsig) {                                                // 4
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != p.parent) ::_exit(125);  // parent already gone
  }
  {                                                                 // 5
    const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || ::dup2(devnull, 0) < 0) goto fail;
    if (::dup2(p.out, 1) < 0 || ::dup2(p.err, 2) < 0) goto fail;
    // Nothing jobwarden inherited (a CI agent's pipes, say) may leak into the
    // step's tree: every descriptor above 2 closes at exec. Linux >= 5.11;
    // older kernels fail with EINVAL/ENOSYS and keep what O_CLOEXEC gave.
    (void)::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  }
  if (p.groups != nullptr) {                                        // 6
    // Raw system calls: glibc's wrappers would broadcast the change to the
    // threads jobwarden may have had (libcurl's resolver), which are not ours.
    if (::syscall(SYS_setgroups, p.group_count, p.groups) != 0 || ::syscall(SYS_setgid, p.gid) != 0 ||
        ::syscall(SYS_setuid, p.uid) != 0) {
      goto fail;
    }
    if (::getuid() != p.uid || ::geteuid() != p.uid || ::getegid() != p.gid) {
      errno = EPERM;
      goto fail;
    }
    // A change of credentials clears PR_SET_PDEATHSIG (prctl(2)): set it again.
    if (p.pdeathsig) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != p.parent) ::_exit(125);
    }
  }
  if (p.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0) goto fail;  // 7
  ::execve(p.path, p.argv, p.envp);                                 // 8
fail:
  const int e = errno;
  (void)!::write(p.report, &e, sizeof e);
  ::_exit(e == ENOENT ? 127 : 126);
}

// The children's environment (environment.hpp: the CI's, with the variables
// jobwarden dropped from its own) with `extra` (NAME=VALUE) added, replacing
// same-named entries.
std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (const std::string& entry : children_environment()) {
    const std::string key = entry.substr(0, entry.find('=') + 1);
    const bool replaced = std::any_of(extra.begin(), extra.end(),
                                      [&](const std::string& x) { return x.rfind(key, 0) == 0; });
    if (!replaced) env.push_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

// Sanitizer runtimes shadow every stack frame: a child sharing our memory
// would leave its frames' poisoning behind in our shadow, so those builds
// take the copying clone below.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define JOBWARDEN_SHARED_MEMORY_CLONE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define JOBWARDEN_SHARED_MEMORY_CLONE 0
#endif
#endif
#if !defined(JOBWARDEN_SHARED_MEMORY_CLONE) && defined(__x86_64__)
#define JOBWARDEN_SHARED_MEMORY_CLONE 1
#elif !defined(JOBWARDEN_SHARED_MEMORY_CLONE)
#define JOBWARDEN_SHARED_MEMORY_CLONE 0
#endif

#if JOBWARDEN_SHARED_MEMORY_CLONE
// clone3 with CLONE_VM | CLONE_VFORK, as posix_spawn does with clone: the
// child borrows our memory on a stack of its own until its execve (or
// _exit), and we stay suspended until then. Nothing of jobwarden's memory
// is copied: no page tables copied at the clone, no copy-on-write faults in
// either process after it, no copy torn down at the exec. The child calls
// `entry(arg)`, which must never return. glibc has no clone3 wrapper, and a
// child on a new stack cannot return into the C++ frame that called the
// system call, hence the few instructions here (glibc's clone3.S does the
// same). x86_64 only; elsewhere the copying clone below is used.
long clone3_shared_memory(clone_args& args, void (*entry)(void*), void* arg) {
  long result;
  register void (*fn)(void*) asm("r12") = entry;
  register void* fn_arg asm("r13") = arg;
  asm volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      // The child: on its own stack, registers as the parent's (r12, r13).
      "xor %%ebp, %%ebp\n\t"
      "mov %%r13, %%rdi\n\t"
      "call *%%r12\n\t"
      "hlt\n"  // not reached: entry never returns
      "1:"
      : "=a"(result)
      : "0"(static_cast<long>(SYS_clone3)), "D"(&args), "S"(sizeof args), "r"(fn), "r"(fn_arg)
      : "rcx", "r11", "memory", "cc");
  if (result < 0) {
    errno = static_cast<int>(-result);
    return -1;
  }
  return result;
}

void exec_child_entry(void* plan) { exec_child(*static_cast<const ChildPlan*>(plan)); }

// The stack the child runs on until its execve: exec_child's frames and
// the system calls' (the largest is execve's, in the kernel, not here).
constexpr std::size_t k_child_stack_bytes = 64 * 1024;
#endif

// Starts the child running exec_child(plan); returns its pid (-1 with errno).
// In order of preference:
//   1. clone3(CLONE_INTO_CGROUP | CLONE_VM | CLONE_VFORK) (x86_64, no
//      sanitizer, no run_as user): born in the leaf, our memory borrowed,
//      not copied. Not for a run_as user: between its setuid and its exec
//      the child would be a process of that user sharing root jobwarden's
//      memory, open to that user's ptrace where fs.suid_dumpable is 1;
//   2. clone3(CLONE_INTO_CGROUP) (Linux >= 5.7) with a cgroup directory:
//      born in the leaf, like fork otherwise;
//   3. fork(): the child joins its cgroups itself before the exec.
// A kernel without clone3 or CLONE_INTO_CGROUP (< 5.7) refuses with ENOSYS,
// EINVAL or E2BIG, valgrind with ENOSYS, older container seccomp profiles
// with EPERM: then the next way is tried, and the last one gives the real
// answer (a cgroup that may not be joined fails the join, exit 125). `plan`
// is completed with where the child was born before it runs.
pid_t start_child(int cgroup_dir_fd, ChildPlan& plan, const int join_procs_fd, bool& born_in_cgroup) {
  const auto refused = [] {
    return errno == ENOSYS || errno == EINVAL || errno == E2BIG || errno == EPERM || errno == EACCES;
  };
  clone_args args{};
  args.exit_signal = SIGCHLD;
  if (cgroup_dir_fd >= 0) {
    args.flags = CLONE_INTO_CGROUP;
    args.cgroup = static_cast<unsigned long long>(cgroup_dir_fd);
  }
  born_in_cgroup = cgroup_dir_fd >= 0;
  plan.join_procs_fd = born_in_cgroup ? -1 : join_procs_fd;
#if JOBWARDEN_SHARED_MEMORY_CLONE
  if (plan.groups == nullptr) {
    alignas(16) static char stack[k_child_stack_bytes];  // one spawn at a time: the parent waits (CLONE_VFORK)
    clone_args shared = args;
    shared.flags |= CLONE_VM | CLONE_VFORK;
    shared.stack = reinterpret_cast<unsigned long long>(stack);
    shared.stack_size = sizeof stack;
    const long pid = clone3_shared_memory(shared, exec_child_entry, &plan);
    if (pid >= 0 || !refused()) return static_cast<pid_t>(pid);
  }
#endif
  if (cgroup_dir_fd >= 0) {
    const long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) exec_child(plan);
    if (pid > 0 || !refused()) return static_cast<pid_t>(pid);
  }
  born_in_cgroup = false;
  plan.join_procs_fd = join_procs_fd;
  const pid_t pid = ::fork();
  if (pid == 0) exec_child(plan);
  return pid;
}

}  // namespace

std::optional<std::string> resolve_program(const std::string& name) {
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string::npos) return name;
  const char* env = std::getenv("PATH");
  const std::string path = env != nullptr && *env != '\0' ? env : "/usr/local/bin:/usr/bin:/bin";
  std::size_t begin = 0;
  while (begin <= path.size()) {
    std::size_t end = path.find(':', begin);
    if (end == std::string::npos) end = path.size();
    const std::string dir = end == begin ? "." : path.substr(begin, end - begin);
    const std::string candidate = dir + "/" + name;
    if (is_executable_file(candidate)) return candidate;
    begin = end + 1;
  }
  return std::nullopt;
}

SpawnOutcome spawn_step(const SpawnOptions& o) {
  SpawnOutcome r;
  if (o.argv.empty()) {
    r.exit_code = 127;
    r.error = "no command given";
    return r;
  }
  const auto resolved = resolve_program(o.argv[0]);
  if (!resolved) {
    r.exit_code = 127;
    r.error = o.argv[0] + ": not found on PATH";
    return r;
  }
  const std::string& path = *resolved;
  std::vector<char*> argv;
  for (const auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const std::vector<std::string> env = merged_environment(o.extra_env);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  int report[2];
  if (::pipe2(report, O_CLOEXEC) < 0) {
    r.exit_code = 125;
    r.error = std::string("pipe2: ") + std::strerror(errno);
    return r;
  }
  UniqueFd report_read(report[0]), report_write(report[1]);
  std::vector<gid_t> groups;  // resolved before the fork: the child may not allocate
  if (o.user != nullptr) groups.assign(o.user->groups.begin(), o.user->groups.end());
  if (o.user != nullptr && groups.empty()) groups.push_back(o.user->gid);
  ChildPlan plan{path.c_str(), argv.data(), envp.data(), o.stdout_fd, o.stderr_fd, report_write.get(),
                 o.pdeathsig, ::getpid(), o.user != nullptr ? groups.data() : nullptr, groups.size(),
                 o.user != nullptr ? o.user->gid : 0, o.user != nullptr ? o.user->uid : 0,
                 -1, o.cgroups.v1_tasks_fd, o.no_new_privileges};
  const pid_t pid = start_child(o.cgroups.dir_fd, plan, o.cgroups.procs_fd, r.born_in_cgroup);
  if (pid < 0) {
    r.exit_code = 125;
    r.error = std::string("fork: ") + std::strerror(errno);
    return r;
  }
  report_write.reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(report_read.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof child_errno) && child_errno < 0) {
    r.pid = pid;
    r.exit_code = 125;
    r.error = std::string("could not join the step's cgroup: ") + std::strerror(-child_errno);
    return r;
  }
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    // exec failed; the child has _exit()ed: the caller reaps it like any other.
    r.pid = pid;
    r.exit_code = child_errno == ENOENT ? 127 : 126;
    r.error = path + ": " + std::strerror(child_errno);
    return r;
  }
  r.pid = pid;
  r.started = true;
  return r;
}

}  // namespace jobwarden::platform
