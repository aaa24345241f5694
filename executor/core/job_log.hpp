#pragma once
// jobwarden's own lines in the job log. Every line starts with "jobwarden: "
// and goes to the log sink (stderr) in a single write, so it never splits a
// line of the step's own output that is relayed to the same stream. Section
// markers and annotations go to the marker sink (stdout), where CI systems
// look for them.
//
// Every line is passed through policy::printable(): control characters in
// what a line quotes (step names, paths, CI variables, rule names) are
// escaped, so no quoted text can start a line of its own or forge a marker
// (colours included: the verdict's colour is jobwarden's, added around the
// escaped line). A line is cut after k_max_line_bytes.

#include <functional>
#include <string>
#include <string_view>

#include "executor/core/clock.hpp"
#include "executor/core/redactor.hpp"
#include "policy/outcome.hpp"

namespace jobwarden::core {

class CiDialect;

class LineSink {
 public:
  virtual ~LineSink() = default;
  virtual void write(std::string_view text) = 0;  // complete lines, written at once
};

class JobLog {
 public:
  static constexpr std::size_t k_max_line_bytes = 16 * 1024;

  JobLog(LineSink& log, LineSink& markers, const CiDialect& dialect, bool quiet)
      : m_log(log), m_markers(markers), m_dialect(dialect), m_quiet(quiet) {}

  void info(std::string_view line);     // suppressed by --quiet
  void warn(std::string_view line);     // always shown: "jobwarden: warning: ..."
  void error(std::string_view line);    // always shown: "jobwarden: error: ..." (jobwarden stops)
  // Always shown; with colour on, bold green for pass, yellow for unstable,
  // red otherwise (a step that was never started counts as fail).
  void verdict(policy::Action action, std::string_view line);
  // Colour is decided by the CLI (--color, NO_COLOR, the CI); off by default.
  void set_colour(bool on) { m_colour = on; }
  bool colour() const { return m_colour; }
  // Called before each line or marker is written (the runner relays the
  // step's output read so far, so that jobwarden's lines keep their place
  // among it). Empty: nothing.
  void set_before_write(std::function<void()> hook) { m_before_write = std::move(hook); }
  void raw_marker(const std::string& text);  // dialect-specific text for stdout
  const CiDialect& dialect() const { return m_dialect; }
  bool quiet() const { return m_quiet; }
  // Every line and marker written from now on goes through `secrets`
  // (which must outlive the log).
  void set_redactor(const Redactor* secrets) { m_secrets = secrets; }
  const Redactor* redactor() const { return m_secrets; }
  // `text` with the secrets masked. Text that is quoted, escaped, squeezed or
  // cut before it reaches info()/warn()/raw_marker() (a shell-quoted command,
  // a section id, a marker's printable() title) must be masked first: after
  // such a change the mask no longer finds the secret.
  std::string masked(std::string_view text) const;

 private:
  void emit(std::string_view prefix, std::string_view line, const char* colour = "");

  LineSink& m_log;
  LineSink& m_markers;
  const CiDialect& m_dialect;
  bool m_quiet;
  const Redactor* m_secrets = nullptr;
  bool m_colour = false;
  std::function<void()> m_before_write;
};

}  // namespace jobwarden::core
