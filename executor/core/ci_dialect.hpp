#pragma once
// How a CI system wants to be spoken to: log section markers, annotations
// and exit codes. Implemented per CI in adapters/; chosen by the CLI.

#include <string>

#include "executor/core/clock.hpp"
#include "policy/outcome.hpp"

namespace jobwarden::core {

class CiDialect {
 public:
  virtual ~CiDialect() = default;
  virtual std::string name() const = 0;
  // Text written to stdout to open/close a collapsible section ("" for none).
  // `id` is unique per attempt; `title` is free text.
  virtual std::string section_start(const std::string& id, const std::string& title,
                                    WallTime at) const = 0;
  virtual std::string section_end(const std::string& id, WallTime at) const = 0;
  // A line written to stdout that the CI turns into an annotation ("" for none).
  virtual std::string annotation(policy::Action action, const std::string& message) const = 0;
  // Whether --color auto colours the verdict in this CI's log.
  virtual bool renders_colour() const { return false; }
  // The process exit code for the final action, given what the step itself
  // returned (its code, 128+N, 124 for a timeout, 127/126 when not started).
  virtual int exit_code(policy::Action action, int step_exit_code) const = 0;
  // How the verdict line states the exit: "exit code 3" unless the CI needs more.
  virtual std::string describe_exit(policy::Action action, int step_exit_code) const {
    return "exit code " + std::to_string(exit_code(action, step_exit_code));
  }
};

}  // namespace jobwarden::core
