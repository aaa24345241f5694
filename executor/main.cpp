// jobwarden: the one catch-all. Anything unexpected below becomes the
// internal-fault exit code with a one-line reason; by then the runner's
// destructor has already killed and reaped whatever the step started.
#include <exception>
#include <iostream>

#include "adapters/dialects.hpp"
#include "executor/cli/cli.hpp"

int main(int argc, char** argv) {
  try {
    return jobwarden::cli::main_entry(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "jobwarden: internal fault: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "jobwarden: internal fault: unknown exception\n";
  }
  return jobwarden::adapters::k_exit_internal;
}
