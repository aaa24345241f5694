#include "executor/core/job_log.hpp"

#include "policy/printable.hpp"

namespace jobwarden::core {

void JobLog::emit(std::string_view prefix, std::string_view line, const char* colour) {
  // Secrets are masked before the line is made printable and cut to length:
  // a cut (or an escape) must never leave part of a secret behind.
  const std::string safe = policy::printable(masked(line), k_max_line_bytes);
  std::string text;
  text.reserve(prefix.size() + safe.size() + 32);
  text.append("jobwarden: ").append(colour).append(prefix).append(safe);
  if (*colour != '\0') text.append("\x1b[0m");
  text.push_back('\n');
  if (m_before_write) m_before_write();
  m_log.write(text);
}

std::string JobLog::masked(std::string_view text) const {
  return m_secrets != nullptr ? m_secrets->redact(text) : std::string(text);
}

void JobLog::info(std::string_view line) {
  if (!m_quiet) emit("", line);
}

void JobLog::warn(std::string_view line) { emit("warning: ", line); }

void JobLog::error(std::string_view line) { emit("error: ", line); }

// Every line still starts with "jobwarden: " (log filters key on it); the
// colour wraps the rest. The line itself is escaped like any other: it quotes
// the reason (a rule name from the policy file), whose own SGR sequences
// could conceal the verdict or paint a fail green.
void JobLog::verdict(policy::Action action, std::string_view line) {
  const char* colour = !m_colour                            ? ""
                       : action == policy::Action::pass     ? "\x1b[32;1m"
                       : action == policy::Action::unstable ? "\x1b[33;1m"
                                                            : "\x1b[31;1m";
  emit("", line, colour);
}

void JobLog::raw_marker(const std::string& text) {
  if (text.empty()) return;
  if (m_before_write) m_before_write();
  m_markers.write(masked(text));
}

}  // namespace jobwarden::core
