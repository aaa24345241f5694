// jobwarden: the one catch-all. Anything unexpected below becomes the
// internal-fault exit code with a one-line reason; by then the runner's
// destructor has already killed and reaped whatever the step started.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <unistd.h>

#include <string_view>

#include "adapters/dialects.hpp"
#include "adapters/gitlab/custom_executor.hpp"
#include "executor/platform/environment.hpp"
#include "executor/platform/guardian.hpp"
#include "executor/platform/signals.hpp"
#include "executor/cli/cli.hpp"

namespace {
// The internal-fault code: 70, or 2 (system failure) for the GitLab driver,
// whose runner knows only 0, 1 and 2.
int internal_fault_code(int argc, char** argv) {
  const bool gitlab = argc > 1 && std::string_view(argv[1]) == "gitlab";
  return gitlab ? jobwarden::adapters::gitlab::k_system_failure : jobwarden::adapters::k_exit_internal;
}

// Ends jobwarden once its work is done: what it still owes the outside
// world is flushed, the guardians are reaped (guardian.hpp), and the
// process ends without exit()'s destruction of every static object (the
// C++ runtime's locales, yaml-cpp's and CLI11's tables), which only frees
// memory the kernel takes back anyway: ~0.1 ms of a `run -- true`
// (bench/RESULTS.md). AddressSanitizer builds exit normally, so that
// LeakSanitizer still checks at exit.
[[noreturn]] void end_process(int code) {
  std::cout.flush();
  std::cerr.flush();
  (void)std::fflush(nullptr);
  jobwarden::platform::reap_guardians();
#if defined(__SANITIZE_ADDRESS__)
  std::exit(code);
#else
  ::_exit(code);
#endif
}

}  // namespace

int main(int argc, char** argv) {
  jobwarden::platform::ignore_sigpipe_for_life();
  jobwarden::platform::ensure_standard_fds();
  jobwarden::platform::block_cancel_signals_for_life();
  jobwarden::platform::watch_parent_death();
  // Before any thread and any name lookup: the job's HOSTALIASES & co. reach
  // the step, never jobwarden's own HTTP client (platform/environment.hpp).
  jobwarden::platform::drop_client_steering_variables();
  try {
    end_process(jobwarden::cli::main_entry(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << "jobwarden: internal fault: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "jobwarden: internal fault: unknown exception\n";
  }
  end_process(internal_fault_code(argc, argv));
}
