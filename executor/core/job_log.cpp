#include "executor/core/job_log.hpp"

namespace jobwarden::core {

void JobLog::emit(std::string_view prefix, std::string_view line) {
  std::string text;
  text.reserve(prefix.size() + line.size() + 16);
  text.append("jobwarden: ").append(prefix).append(line).push_back('\n');
  m_log.write(text);
}

void JobLog::info(std::string_view line) {
  if (!m_quiet) emit("", line);
}

void JobLog::warn(std::string_view line) { emit("warning: ", line); }

void JobLog::verdict(std::string_view line) { emit("", line); }

void JobLog::raw_marker(const std::string& text) {
  if (!text.empty()) m_markers.write(text);
}

}  // namespace jobwarden::core
