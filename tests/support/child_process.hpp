#pragma once
// Runs a program (usually the built jobwarden) as a CI would: argv, extra
// environment, separate stdout/stderr captured in full, signals on demand,
// and a generous deadline that turns a hang into a loud failure.

#include <chrono>
#include <string>
#include <vector>

namespace jobwarden::testing {

struct ChildResult {
  int exit_code = -1;     // WEXITSTATUS, or -1
  int term_signal = 0;    // WTERMSIG, or 0
  bool hung = false;      // the deadline passed and the child was SIGKILLed
  std::string out;
  std::string err;
};

class ChildProcess {
 public:
  // `env_overrides` are NAME=VALUE (NAME= with an empty value unsets nothing: it sets "").
  // `new_session`: setsid() instead of setpgid() (its own session, so its own
  // scheduler autogroup where CONFIG_SCHED_AUTOGROUP is on).
  // `merged_output`: stdout and stderr are one pipe (as GitLab Runner and
  // Jenkins' `sh` give them); everything lands in `out`.
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env_overrides = {},
               const std::string& cwd = "", bool new_session = false, bool merged_output = false);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  int pid() const { return m_pid; }
  // Reads output until `needle` appears on stdout or stderr; false after `limit`.
  bool wait_for_output(const std::string& needle, std::chrono::milliseconds limit);
  void send_signal(int sig);
  void send_group_signal(int sig);  // to its whole process group, as gitlab-runner does
  // Reads output until the process has exited (not reaped: wait() does that);
  // false when it is still running after `limit`.
  bool wait_for_exit(std::chrono::milliseconds limit);
  // Waits for the exit, reading output meanwhile; SIGKILLs and sets hung after `limit`.
  ChildResult wait(std::chrono::milliseconds limit = std::chrono::milliseconds(60000));
  // The output read so far.
  const ChildResult& so_far() const { return m_result; }

 private:
  bool pump(int timeout_ms);  // false when both streams are closed

  int m_pid = -1;
  int m_out = -1;
  int m_err = -1;
  bool m_reaped = false;
  ChildResult m_result;
};

ChildResult run_child(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                      std::chrono::milliseconds limit = std::chrono::milliseconds(60000),
                      const std::string& cwd = "", bool merged_output = false);

// The jobwarden binary and the tree helper under test.
std::string jobwarden_binary();
std::string tree_helper();

// The argv of `jobwarden run --ci CI OPTIONS... -- COMMAND...`.
std::vector<std::string> jw_run_ci(const std::string& ci, const std::vector<std::string>& options,
                                   const std::vector<std::string>& command);
// The same with `--ci generic`.
std::vector<std::string> jw_run(const std::vector<std::string>& options, const std::vector<std::string>& command);

}  // namespace jobwarden::testing
