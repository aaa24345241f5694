#include "executor/platform/ci_outputs.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "executor/platform/environment.hpp"
#include "executor/platform/fd.hpp"
#include "executor/platform/spawn.hpp"

namespace jobwarden::platform {
namespace {

constexpr std::size_t k_max_input = 60 * 1024;  // fits a pipe: the write never waits for the reader

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// Waits for `pid` for at most `timeout` (a pidfd, so no polling loop), then
// SIGKILLs it; reaps it either way.
int wait_bounded(pid_t pid, core::Millis timeout) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    int rc;
    do {
      rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) (void)::kill(pid, SIGKILL);
    ::close(pidfd);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

core::Status<std::string> append_within(const std::string& path, std::string_view text, std::size_t max_total) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) return core::unexpected(errno_text("cannot open " + path));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return core::unexpected(errno_text("cannot stat " + path));
  if (!S_ISREG(st.st_mode)) return core::unexpected(path + " is not a regular file");
  if (static_cast<std::size_t>(st.st_size) + text.size() > max_total) {
    return core::unexpected(path + " would exceed " + std::to_string(max_total) + " bytes");
  }
  if (write_all(fd.get(), text) != WriteStatus::ok) return core::unexpected(errno_text("cannot write " + path));
  return core::Ok{};
}

core::Result<int, std::string> run_with_input(const std::vector<std::string>& argv, std::string_view input,
                                              core::Millis timeout) {
  if (argv.empty()) return core::unexpected(std::string("no command"));
  const auto resolved = resolve_program(argv[0]);
  if (!resolved) return core::unexpected(argv[0] + ": not found on PATH");
  const std::string& program = *resolved;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return core::unexpected(errno_text("pipe"));
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, read_end.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, 2, 1);
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);   // jobwarden blocks its cancel signals for life
  posix_spawnattr_setsigdefault(&attr, &all);  // and ignores SIGPIPE
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::vector<std::string> env = children_environment();  // the CI's, as it gave it
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, program.c_str(), &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return core::unexpected(program + ": " + std::strerror(rc));
  read_end.reset();
  (void)write_all(write_end.get(), input.substr(0, k_max_input));
  write_end.reset();
  return wait_bounded(pid, timeout);
}

}  // namespace jobwarden::platform
