// jobwarden: the one catch-all. Anything unexpected below becomes the
// internal-fault exit code with a one-line reason; by then the runner's
// destructor has already killed and reaped whatever the step started.
#include <exception>
#include <iostream>

#include <string_view>

#include "adapters/dialects.hpp"
#include "adapters/gitlab/custom_executor.hpp"
#include "executor/platform/environment.hpp"
#include "executor/platform/signals.hpp"
#include "executor/cli/cli.hpp"

namespace {
// The internal-fault code: 70, or 2 (system failure) for the GitLab driver,
// whose runner knows only 0, 1 and 2.
int internal_fault_code(int argc, char** argv) {
  const bool gitlab = argc > 1 && std::string_view(argv[1]) == "gitlab";
  return gitlab ? jobwarden::adapters::gitlab::k_system_failure : jobwarden::adapters::k_exit_internal;
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
    return jobwarden::cli::main_entry(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "jobwarden: internal fault: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "jobwarden: internal fault: unknown exception\n";
  }
  return internal_fault_code(argc, argv);
}
