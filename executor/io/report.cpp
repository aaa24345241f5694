#include "executor/io/report.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "policy/signal_names.hpp"

namespace jobwarden::io {
namespace {

using nlohmann::ordered_json;


template <typename T>
ordered_json optional_json(const std::optional<T>& v) {
  return v ? ordered_json(*v) : ordered_json(nullptr);
}

ordered_json processes_json(const std::vector<core::ProcessInfo>& procs) {
  ordered_json list = ordered_json::array();
  for (const auto& p : procs) {
    list.push_back({{"pid", p.pid}, {"pgid", p.pgid}, {"sid", p.sid}, {"state", std::string(1, p.state)},
                    {"command", p.command.empty() ? ordered_json(nullptr) : ordered_json(p.command)}});
  }
  return list;
}

ordered_json signals_json(const std::vector<core::SignalSent>& signals) {
  ordered_json list = ordered_json::array();
  for (const auto& s : signals) {
    list.push_back({{"signal", s.signal}, {"reason", s.reason}, {"at_seconds", s.at_seconds},
                    {"targets", s.targets.size()}});
  }
  return list;
}

// The deprivation windows as four parallel series (compact for long attempts).
ordered_json windows_json(const std::vector<policy::CpuWindow>& windows) {
  ordered_json seconds = ordered_json::array(), cpu = ordered_json::array(), wait = ordered_json::array(),
               others = ordered_json::array();
  for (const auto& w : windows) {
    seconds.push_back(w.seconds);
    cpu.push_back(w.step_cpu);
    wait.push_back(w.step_wait);
    others.push_back(w.others_cpu);
  }
  return {{"seconds", seconds}, {"step_cpu", cpu}, {"step_wait", wait}, {"others_cpu", others}};
}

ordered_json evidence_json(const core::AttemptRecord& r) {
  const core::AttemptUsage& u = r.usage;
  return {
      {"cpu_seconds", u.cpu_seconds},
      {"cpu_share", optional_json(r.starvation.cpu_share)},
      {"usable_cpus", optional_json(u.usable_cpus)},
      {"cpu_wait_seconds", optional_json(u.cpu_wait_seconds)},
      {"cpu_wait_fraction", optional_json(r.starvation.cpu_wait_fraction)},
      {"cpu_wait_source", u.cpu_wait_source},
      {"psi_cpu_some", optional_json(u.host_cpu_pressure)},
      {"lost_cpu_seconds", optional_json(u.lost_cpu_seconds)},
      {"others_cpus_while_waiting", optional_json(u.others_cpus_while_waiting)},
      {"windows", windows_json(u.windows)},
      {"starved", r.starvation.starved},
      {"starvation", r.starvation.explanation},
      {"peak_rss_kib", u.peak_rss_kib},
      {"peak_memory_bytes", optional_json(u.peak_memory_bytes)},
      {"oom_kills", optional_json(u.oom_kills)},
      {"containment", u.containment},
      {"output_bytes", u.output_bytes},
      {"output_dropped_bytes", u.output_dropped},
  };
}

ordered_json attempt_json(const core::AttemptRecord& r, const policy::Decision& d, core::Millis backoff) {
  ordered_json a = {
      {"number", r.number},
      {"started_at", iso8601(r.started_at)},
      {"ended_at", iso8601(r.ended_at)},
      {"outcome", std::string(policy::to_string(r.outcome))},
      {"exit_code", optional_json(r.ending.exit_code)},
      {"signal", r.ending.term_signal ? ordered_json(policy::signal_name(*r.ending.term_signal)) : nullptr},
      {"signal_sent_by", !r.ending.term_signal           ? ordered_json(nullptr)
                         : r.ending.signal_sent_by_us ? ordered_json("jobwarden")
                                                      : ordered_json("external")},
      {"cancel_signal", r.cancel_signal != 0 ? ordered_json(policy::signal_name(r.cancel_signal)) : nullptr},
      {"start_error", r.ending.start_failed ? ordered_json(r.start.error) : nullptr},
      {"step_exit_code", r.step_exit_code},
      {"duration_seconds", r.run_seconds},
      {"total_seconds", r.total_seconds},
  };
  a.update(evidence_json(r));
  a["signals_sent"] = signals_json(r.signals);
  a["processes_killed"] = processes_json(r.signalled);
  a["escapees"] = processes_json(r.escapees);
  a["survivors"] = processes_json(r.survivors);
  a["matched_rule"] = d.rule.empty() ? ordered_json(nullptr) : ordered_json(d.rule);
  a["decision"] = d.retry ? "retry" : std::string(policy::to_string(d.action));
  a["decision_reason"] = d.reason;
  a["backoff_seconds"] = std::chrono::duration<double>(backoff).count();
  return a;
}

}  // namespace

std::string iso8601(core::WallTime t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  const std::tm tm = *std::gmtime(&secs);  // single-threaded: the static buffer is fine
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

std::string policy_hash(const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string render_report(const ReportInput& in) {
  const core::StepResult& res = *in.result;
  ordered_json attempts = ordered_json::array();
  for (std::size_t i = 0; i < res.attempts.size(); ++i) {
    const core::Millis backoff = i < res.backoffs.size() ? res.backoffs[i] : core::Millis{0};
    attempts.push_back(attempt_json(res.attempts[i], res.decisions[i], backoff));
  }
  ordered_json report = {
      {"schema", k_report_schema},
      {"jobwarden_version", JOBWARDEN_VERSION},
      {"step", in.step},
      {"command", in.command},
      {"ci", in.ci},
      {"policy", {{"source", in.policy_source}, {"hash", "fnv1a64:" + policy_hash(in.policy_text)}}},
      {"action", std::string(policy::to_string(res.action))},
      {"reason", res.reason},
      {"exit_code", res.exit_code},
      {"step_exit_code", res.step_exit_code},
      {"cancel_signal", res.cancel_signal != 0 ? ordered_json(policy::signal_name(res.cancel_signal)) : nullptr},
      {"started_at", res.attempts.empty() ? ordered_json(nullptr) : ordered_json(iso8601(res.attempts.front().started_at))},
      {"ended_at", res.attempts.empty() ? ordered_json(nullptr) : ordered_json(iso8601(res.attempts.back().ended_at))},
      {"attempts", attempts},
  };
  // Invalid UTF-8 in a command line must not make the report unwritable.
  return report.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace jobwarden::io
