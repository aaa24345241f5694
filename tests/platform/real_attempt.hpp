#pragma once
// Runs one real attempt through LinuxProcessRunner + AttemptSupervisor, with
// the step's output captured in a temporary file, and optionally sends
// jobwarden (this process) a signal once the step printed a readiness line.

#include <doctest/doctest.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <unistd.h>

#include "executor/core/attempt.hpp"
#include "executor/core/ci_dialect.hpp"
#include "executor/core/job_log.hpp"
#include "executor/platform/linux_process_runner.hpp"
#include "executor/platform/system_clock.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/proc_check.hpp"

namespace jobwarden::testing {

class NullDialect final : public core::CiDialect {
 public:
  std::string name() const override { return "test"; }
  std::string section_start(const std::string&, const std::string&, core::WallTime) const override { return ""; }
  std::string section_end(const std::string&, core::WallTime) const override { return ""; }
  std::string annotation(policy::Action, const std::string&) const override { return ""; }
  int exit_code(policy::Action, int code) const override { return code; }
};

class StringSink final : public core::LineSink {
 public:
  void write(std::string_view text) override { text_.append(text); }
  std::string text_;
};

struct RealAttempt {
  core::AttemptRecord rec;
  std::string output;  // the step's stdout and stderr as relayed
  std::string log;     // jobwarden's lines
};

inline std::string file_content(std::FILE* f) {
  std::fflush(f);
  std::string out;
  char buf[65536];
  std::rewind(f);
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  return out;
}

struct RealOptions {
  core::AttemptSettings settings;
  int signal_when_ready = 0;           // send this to ourselves after `ready_line` appears
  std::string ready_line = "all-ready";
  bool tree_kill = true;
  std::optional<unsigned long long> memory_limit = std::nullopt;  // bytes, for the step's cgroup
  int kill_step_when_ready = 0;  // send this to the first announced pid instead (an outsider's kill)
};

inline RealAttempt run_real(const std::vector<std::string>& argv, RealOptions o) {
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  platform::RunnerOptions ro;
  ro.stdout_fd = fileno(out);
  ro.stderr_fd = fileno(out);
  ro.subreaper = o.tree_kill;
  auto runner = platform::LinuxProcessRunner::create(ro);
  REQUIRE(runner.ok());
  platform::SystemClock clock;
  StringSink log_sink, marker_sink;
  NullDialect dialect;
  core::JobLog log(log_sink, marker_sink, dialect, false);
  core::AttemptSupervisor supervisor(**runner, clock, log);
  std::thread signaller;
  if (o.signal_when_ready != 0 || o.kill_step_when_ready != 0) {
    // Created after the runner blocked the signals, so it inherits the mask
    // and the signal can only reach the signalfd.
    signaller = std::thread([&, fd = fileno(out)] {
      const bool ready = eventually(
          [&] {
            std::string text;
            char buf[4096];
            ssize_t n;
            off_t at = 0;
            while ((n = pread(fd, buf, sizeof buf, at)) > 0) {
              text.append(buf, static_cast<size_t>(n));
              at += n;
            }
            return text.find(o.ready_line) != std::string::npos;
          },
          std::chrono::seconds(30));
      if (!ready) return;
      if (o.kill_step_when_ready != 0) {
        std::string text;
        char buf[4096];
        const ssize_t n = pread(fd, buf, sizeof buf, 0);
        if (n > 0) text.assign(buf, static_cast<size_t>(n));
        const auto pids = ready_pids(text);
        if (!pids.empty()) kill(pids.front(), o.kill_step_when_ready);
      } else {
        kill(getpid(), o.signal_when_ready);
      }
    });
  }
  o.settings.tree_kill = o.tree_kill;
  core::SpawnRequest request{argv, o.tree_kill, {}, {}, o.memory_limit};
  RealAttempt r;
  r.rec = supervisor.run(request, o.settings, 1);
  if (signaller.joinable()) signaller.join();
  r.output = file_content(out);
  r.log = log_sink.text_;
  std::fclose(out);
  return r;
}

inline core::AttemptSettings quick_settings(long timeout_ms, long grace_ms) {
  core::AttemptSettings s;
  s.timeout = core::Millis{timeout_ms};
  s.grace = core::Millis{grace_ms};
  s.kill_wait = core::Millis{10'000};
  return s;
}

}  // namespace jobwarden::testing
