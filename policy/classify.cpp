#include "policy/classify.hpp"

#include "policy/duration.hpp"
#include <algorithm>
#include <cstdio>

namespace jobwarden::policy {

Outcome classify(const Ending& e) {
  // Order matters: our own actions explain a death better than its signal,
  // and an OOM kill explains a death better than anything else.
  if (e.start_failed) return Outcome::error;
  if (e.oom_killed) return Outcome::oom;
  if (e.ci_abort) return Outcome::cancelled;
  // A death by a signal jobwarden did not send (a SIGSEGV in the SIGTERM
  // handler, an outside SIGKILL) is `signal` even after a deadline or a
  // cancel: blaming our own SIGTERM would hide a crash.
  if (e.term_signal && !e.signal_sent_by_us) return Outcome::signal;
  if (e.cancel_requested) return Outcome::cancelled;
  if (e.deadline_expired) return Outcome::timeout;
  // A signal death we caused is always explained by the deadline or cancel above.
  if (e.term_signal) return Outcome::signal;
  if (e.exit_code && *e.exit_code == 0) return Outcome::success;
  return Outcome::red;
}

int step_exit_code(Outcome outcome, const Ending& e, int start_exit_code, int cancel_signal) {
  constexpr int k_exit_timeout = 124;
  constexpr int k_sigkill = 9;  // Linux numbering (see signals.hpp)
  switch (outcome) {
    case Outcome::success: return 0;
    case Outcome::error: return start_exit_code;
    case Outcome::timeout: return k_exit_timeout;
    case Outcome::cancelled: return 128 + cancel_signal;
    case Outcome::oom: return 128 + k_sigkill;
    case Outcome::signal: return 128 + e.term_signal.value_or(0);
    case Outcome::red: return e.exit_code.value_or(1);
  }
  return 1;
}

double lost_in_window(const CpuWindow& w) { return std::max(0.0, std::min(w.step_wait, w.others_cpu)); }

namespace {

std::string cpus(double n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", n);
  return buf;
}

// "lost 1.70 CPU-s to others (42% of wall, threshold 25%; others used 1.7
// of 2 CPUs while the step waited)", or the plain wait without a lost figure.
std::string waited_facts(const CpuEvidence& ev, const StarvationAssessment& a, const StarvationThresholds& th) {
  const std::string fraction = format_percent(*a.cpu_wait_fraction) + " of wall, threshold " + format_percent(th.cpu_wait);
  if (!ev.lost_cpu_seconds) {
    return "waited " + format_percent(*a.cpu_wait_fraction) + " of wall (threshold " + format_percent(th.cpu_wait) + ")";
  }
  char lost[32];
  std::snprintf(lost, sizeof lost, "%.2f", *ev.lost_cpu_seconds);
  std::string out = "lost " + std::string(lost) + " CPU-s to others (" + fraction;
  if (ev.others_cpus_while_waiting && ev.usable_cpus) {
    out += "; others used " + cpus(*ev.others_cpus_while_waiting) + " of " + cpus(*ev.usable_cpus) +
           " CPUs while the step waited";
  }
  return out + ")";
}

}  // namespace

StarvationAssessment assess_starvation(const CpuEvidence& ev, const StarvationThresholds& th) {
  StarvationAssessment a;
  if (ev.wall_seconds <= 0.0) {
    a.explanation = "not measured: no running time";
    return a;
  }
  if (ev.usable_cpus && *ev.usable_cpus > 0.0) {
    a.cpu_share = ev.cpu_seconds / (ev.wall_seconds * *ev.usable_cpus);
  }
  if (ev.lost_cpu_seconds) {
    a.cpu_wait_fraction = *ev.lost_cpu_seconds / ev.wall_seconds;
  } else if (ev.cpu_wait_seconds) {
    a.cpu_wait_fraction = *ev.cpu_wait_seconds / ev.wall_seconds;
  }
  if (!a.cpu_share || !a.cpu_wait_fraction) {
    a.explanation = !a.cpu_wait_fraction ? "not measured: CPU wait unavailable"
                                         : "not measured: usable CPUs unknown";
    return a;
  }
  a.measured = true;
  const bool waited = *a.cpu_wait_fraction >= th.cpu_wait;
  const bool deprived = *a.cpu_share < th.cpu_share;
  a.starved = waited && deprived;
  const std::string facts = waited_facts(ev, a, th) + ", got " + format_percent(*a.cpu_share) +
                            " of usable CPUs (threshold " + format_percent(th.cpu_share) + ")";
  if (a.starved) {
    a.explanation = "starved: " + facts;
  } else if (!waited) {
    a.explanation = std::string(ev.lost_cpu_seconds ? "not starved (hardly waited for a CPU others used): "
                                                    : "not starved (hardly waited for a CPU): ") +
                    facts;
  } else {
    a.explanation = "not starved (kept its CPUs busy): " + facts;
  }
  return a;
}

}  // namespace jobwarden::policy
