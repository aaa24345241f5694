#pragma once
// The vocabulary shared by classification, policy and reports.

#include <optional>
#include <string_view>

namespace jobwarden::policy {

// How an attempt ended, decided from evidence (see classify.hpp).
enum class Outcome {
  success,    // main process exited 0 before any deadline or cancel
  red,        // main process exited non-zero on its own
  timeout,    // our deadline expired; the tree was killed
  oom,        // the kernel OOM killer killed a member of the tree
  signal,     // main process died of a signal jobwarden did not send
  cancelled,  // the CI asked jobwarden to stop (SIGTERM/SIGINT/SIGHUP)
  error,      // the step could not be started (not found, not executable)
};

// What the CI is told about the step.
enum class Action { pass, fail, unstable, system_failure };

std::string_view to_string(Outcome o);
std::string_view to_string(Action a);
std::optional<Outcome> parse_outcome(std::string_view text);
std::optional<Action> parse_action(std::string_view text);

}  // namespace jobwarden::policy
