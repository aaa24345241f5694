#include "tests/support/child_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace jobwarden::testing {

std::string jobwarden_binary() { return JOBWARDEN_BINARY; }
std::string tree_helper() { return JOBWARDEN_TREE_HELPER; }

std::vector<std::string> jw_run_ci(const std::string& ci, const std::vector<std::string>& options,
                                   const std::vector<std::string>& command) {
  std::vector<std::string> argv{jobwarden_binary(), "run", "--ci", ci};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back("--");
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

std::vector<std::string> jw_run(const std::vector<std::string>& options, const std::vector<std::string>& command) {
  return jw_run_ci("generic", options, command);
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const std::vector<std::string>& env_overrides, const std::string& cwd,
                           bool new_session, bool merged_output) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) std::abort();
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  for (const auto& o : env_overrides) {
    const std::string key = o.substr(0, o.find('=') + 1);
    std::erase_if(env, [&](const std::string& v) { return v.rfind(key, 0) == 0; });
    env.push_back(o);
  }
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  m_pid = fork();
  if (m_pid == 0) {
    if (new_session) {
      setsid();
    } else {
      setpgid(0, 0);  // like gitlab-runner: its own process group
    }
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    const int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(merged_output ? out[1] : err[1], 2);
    execve(cargv[0], cargv.data(), cenv.data());
    const std::string why = std::string("child_process: cannot exec ") + cargv[0] + ": " + strerror(errno) + "\n";
    (void)!write(2, why.data(), why.size());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  m_out = out[0];
  m_err = err[0];
}

ChildProcess::~ChildProcess() {
  if (!m_reaped && m_pid > 0) {
    kill(-m_pid, SIGKILL);
    kill(m_pid, SIGKILL);
    waitpid(m_pid, nullptr, 0);
  }
  if (m_out >= 0) close(m_out);
  if (m_err >= 0) close(m_err);
}

bool ChildProcess::pump(int timeout_ms) {
  pollfd fds[2] = {{m_out, POLLIN, 0}, {m_err, POLLIN, 0}};
  if (m_out < 0 && m_err < 0) return false;
  if (poll(fds, 2, timeout_ms) <= 0) return true;
  int* ends[2] = {&m_out, &m_err};
  std::string* sinks[2] = {&m_result.out, &m_result.err};
  for (int i = 0; i < 2; ++i) {
    if (fds[i].revents == 0) continue;
    char buf[65536];
    const ssize_t n = read(*ends[i], buf, sizeof buf);
    if (n > 0) {
      sinks[i]->append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      close(*ends[i]);
      *ends[i] = -1;
    }
  }
  return m_out >= 0 || m_err >= 0;
}

bool ChildProcess::wait_for_output(const std::string& needle, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (m_result.out.find(needle) != std::string::npos || m_result.err.find(needle) != std::string::npos) {
      return true;
    }
    if (!pump(20)) break;
  }
  return m_result.out.find(needle) != std::string::npos || m_result.err.find(needle) != std::string::npos;
}

void ChildProcess::send_signal(int sig) { kill(m_pid, sig); }
void ChildProcess::send_group_signal(int sig) { kill(-m_pid, sig); }

bool ChildProcess::wait_for_exit(std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(m_pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == m_pid) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= until) return false;
    (void)pump(20);
  }
}

ChildResult ChildProcess::wait(std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  int status = 0;
  for (;;) {
    const pid_t got = waitpid(m_pid, &status, WNOHANG);
    if (got == m_pid) break;
    if (std::chrono::steady_clock::now() >= until) {
      m_result.hung = true;
      kill(-m_pid, SIGKILL);
      kill(m_pid, SIGKILL);
      waitpid(m_pid, &status, 0);
      break;
    }
    (void)pump(20);
  }
  m_reaped = true;
  // Output written before the exit is still in the pipes; descendants that
  // outlive the child (a bug under test) must not make us wait: bounded drain.
  const auto drain_until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < drain_until && pump(20)) {
  }
  if (WIFEXITED(status)) m_result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) m_result.term_signal = WTERMSIG(status);
  return m_result;
}

ChildResult run_child(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                      std::chrono::milliseconds limit, const std::string& cwd, bool merged_output) {
  ChildProcess child(argv, env, cwd, false, merged_output);
  return child.wait(limit);
}

}  // namespace jobwarden::testing
