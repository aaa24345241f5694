#include "executor/io/metrics.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <numeric>
#include <optional>

#include "executor/core/redactor.hpp"
#include "policy/printable.hpp"

namespace jobwarden::io {
namespace {

struct Family {
  std::string_view name;
  std::string_view help;
  std::vector<std::string_view> labels;
};

const std::array<Family, 8>& counter_families() {
  static const std::array<Family, 8> k{{
      {"jobwarden_attempts_total", "Attempts run, by how they ended.", {"ci", "step", "outcome"}},
      {"jobwarden_verdicts_total", "Steps decided, by the final action.", {"ci", "step", "action"}},
      {"jobwarden_retries_total", "Retries granted by a policy rule.", {"step", "rule"}},
      {"jobwarden_retries_exhausted_total", "Steps ended by a retry rule that ran out of attempts or time.",
       {"step", "rule"}},
      {"jobwarden_starved_total", "Timeouts classified as starved (the step waited for a CPU).", {}},
      {"jobwarden_oom_total", "Attempts ended by the OOM killer.", {}},
      {"jobwarden_processes_killed_total", "Processes signalled by the tree kill.", {}},
      {"jobwarden_escapees_total", "Killed processes that had left the step's process group.", {}},
  }};
  return k;
}

const Family* find_family(std::string_view name) {
  for (const Family& f : counter_families()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

constexpr std::string_view k_duration = "jobwarden_step_duration_seconds";
constexpr std::array<double, 12> k_duration_buckets{1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200};

std::string number(double v) {
  if (std::isinf(v)) return "+Inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string series(std::string_view name, const std::vector<std::string_view>& keys,
                   const std::vector<std::string>& values) {
  std::string out(name);
  if (keys.empty()) return out;
  out += '{';
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) out += ',';
    out.append(keys[i]).append("=\"").append(core::label_escaped(values[i])).append("\"");
  }
  return out + '}';
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// name{k="v",...} value -> name, labels, value; nullopt when malformed.
std::optional<Sample> split_sample(std::string_view line) {
  Sample sample;
  auto& [name, labels, value] = sample;
  std::size_t i = line.find_first_of("{ ");
  if (i == std::string_view::npos) return std::nullopt;
  name = std::string(line.substr(0, i));
  if (line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      const std::size_t eq = line.find("=\"", i);
      if (eq == std::string_view::npos) return std::nullopt;
      std::string key(line.substr(i, eq - i)), val;
      for (i = eq + 2; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] == '\\' && i + 1 < line.size()) {
          ++i;
          val += line[i] == 'n' ? '\n' : line[i];
        } else {
          val += line[i];
        }
      }
      if (i >= line.size()) return std::nullopt;
      labels[key] = val;
      ++i;  // the closing quote
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return std::nullopt;
    ++i;  // '}'
  }
  if (i >= line.size() || line[i] != ' ') return std::nullopt;
  const std::string_view text = line.substr(i + 1);
  if (text == "+Inf") return std::nullopt;  // only `le` may be +Inf, never a value
  const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size() || value < 0) return std::nullopt;
  return sample;
}

std::string fold(const std::string& value, std::set<std::string>& seen, int max) {
  if (seen.count(value) != 0 || static_cast<int>(seen.size()) < max) {
    seen.insert(value);
    return value;
  }
  return std::string(k_other_label);
}

}  // namespace

std::string metric_step_label(const std::string& step, bool known) {
  if (!known) return std::string(k_other_label);
  std::string out = step.substr(0, 64);
  for (char& c : out) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '.' || c == ':' || c == '-';
    if (!ok) c = '_';
  }
  return out.empty() ? std::string(k_other_label) : out;
}

void MetricStore::add(const std::string& family, const Labels& labels, double v) {
  m_counters[family][labels] += v;
}

void MetricStore::observe(const std::string& step, double seconds) {
  Histogram& h = m_durations[step];
  h.buckets.resize(k_duration_buckets.size(), 0);
  for (std::size_t i = 0; i < k_duration_buckets.size(); ++i) {
    if (seconds <= k_duration_buckets[i]) h.buckets[i] += 1;
  }
  h.sum += seconds;
  h.count += 1;
}

void MetricStore::add_step(const StepMetricsInput& in) {
  const core::StepResult& r = *in.result;
  for (const auto& family : counter_families()) {
    if (family.labels.empty()) add(std::string(family.name), {}, 0);  // always present
  }
  double seconds = 0;
  for (const core::AttemptRecord& a : r.attempts) {
    add("jobwarden_attempts_total", {in.ci, in.step, std::string(policy::to_string(a.outcome))}, 1);
    if (a.outcome == policy::Outcome::timeout && a.starvation.starved) add("jobwarden_starved_total", {}, 1);
    if (a.outcome == policy::Outcome::oom) add("jobwarden_oom_total", {}, 1);
    add("jobwarden_processes_killed_total", {}, static_cast<double>(a.signalled.size()));
    add("jobwarden_escapees_total", {}, static_cast<double>(a.escapees.size()));
    seconds += a.total_seconds;
  }
  for (const auto& b : r.backoffs) seconds += std::chrono::duration<double>(b).count();
  for (const policy::Decision& d : r.decisions) {
    const std::string rule = d.rule.empty() ? "none" : policy::printable(d.rule);
    if (d.retry) add("jobwarden_retries_total", {in.step, rule}, 1);
    if (d.exhausted) add("jobwarden_retries_exhausted_total", {in.step, rule}, 1);
  }
  add("jobwarden_verdicts_total", {in.ci, in.step, std::string(policy::to_string(r.action))}, 1);
  observe(in.step, seconds);
}

std::set<std::string> MetricStore::values_of(std::string_view label) const {
  std::set<std::string> out;
  for (const auto& [name, rows] : m_counters) {
    const Family* f = find_family(name);
    const auto at = std::find(f->labels.begin(), f->labels.end(), label);
    if (at == f->labels.end()) continue;
    for (const auto& [labels, value] : rows) out.insert(labels[at - f->labels.begin()]);
  }
  if (label == "step") {
    for (const auto& [step, h] : m_durations) out.insert(step);
  }
  return out;
}

void MetricStore::merge(const MetricStore& other, int max_label_values) {
  std::set<std::string> steps = values_of("step"), rules = values_of("rule");
  for (const auto& [name, rows] : other.m_counters) {
    const Family* f = find_family(name);
    for (const auto& [their_labels, value] : rows) {
      Labels labels = their_labels;
      for (std::size_t i = 0; i < labels.size(); ++i) {
        if (f->labels[i] == "step") labels[i] = fold(labels[i], steps, max_label_values);
        if (f->labels[i] == "rule") labels[i] = fold(labels[i], rules, max_label_values);
      }
      add(name, labels, value);
    }
  }
  for (const auto& [step, h] : other.m_durations) {
    Histogram& mine = m_durations[fold(step, steps, max_label_values)];
    mine.buckets.resize(k_duration_buckets.size(), 0);
    for (std::size_t i = 0; i < h.buckets.size() && i < mine.buckets.size(); ++i) mine.buckets[i] += h.buckets[i];
    mine.sum += h.sum;
    mine.count += h.count;
  }
}

std::string MetricStore::render() const {
  std::string out;
  for (const Family& f : counter_families()) {
    const auto it = m_counters.find(std::string(f.name));
    if (it == m_counters.end() && !f.labels.empty()) continue;
    header(out, f.name, "counter", f.help);
    if (it == m_counters.end()) {
      out.append(f.name).append(" 0\n");
      continue;
    }
    for (const auto& [labels, value] : it->second) {
      out.append(series(f.name, f.labels, labels)).append(" ").append(number(value)).append("\n");
    }
  }
  if (m_durations.empty()) return out;
  header(out, k_duration, "histogram", "Time from a step's first start to its verdict (attempts and backoffs).");
  const std::string bucket = std::string(k_duration) + "_bucket";
  for (const auto& [step, h] : m_durations) {
    for (std::size_t i = 0; i <= k_duration_buckets.size(); ++i) {
      const bool inf = i == k_duration_buckets.size();
      const double le = inf ? INFINITY : k_duration_buckets[i];
      const double v = inf ? h.count : (i < h.buckets.size() ? h.buckets[i] : 0);
      out.append(series(bucket, {"step", "le"}, {step, number(le)})).append(" ").append(number(v)).append("\n");
    }
    out.append(series(std::string(k_duration) + "_sum", {"step"}, {step})).append(" ").append(number(h.sum)).append("\n");
    out.append(series(std::string(k_duration) + "_count", {"step"}, {step}))
        .append(" ")
        .append(number(h.count))
        .append("\n");
  }
  return out;
}

bool MetricStore::parse_line(std::string_view line) {
  const auto sample = split_sample(line);
  if (!sample) return false;
  const auto& [name, labels, value] = *sample;
  if (const Family* f = find_family(name)) {
    if (labels.size() != f->labels.size()) return false;
    Labels values;
    for (const auto key : f->labels) {
      const auto it = labels.find(std::string(key));
      if (it == labels.end()) return false;
      values.push_back(it->second);
    }
    add(name, values, value);
    return true;
  }
  const std::string prefix(k_duration);
  const auto step = labels.find("step");
  if (name.rfind(prefix, 0) != 0 || step == labels.end()) return false;
  Histogram& h = m_durations[step->second];
  h.buckets.resize(k_duration_buckets.size(), 0);
  const std::string suffix = name.substr(prefix.size());
  if (suffix == "_sum" && labels.size() == 1) return h.sum += value, true;
  if (suffix == "_count" && labels.size() == 1) return h.count += value, true;
  const auto le = labels.find("le");
  if (suffix != "_bucket" || le == labels.end() || labels.size() != 2) return false;
  if (le->second == "+Inf") return true;  // the same as _count
  for (std::size_t i = 0; i < k_duration_buckets.size(); ++i) {
    if (number(k_duration_buckets[i]) == le->second) return h.buckets[i] += value, true;
  }
  return false;
}

MetricStore MetricStore::parse(std::string_view text, int& skipped) {
  MetricStore store;
  skipped = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    if (!store.parse_line(line)) ++skipped;
  }
  return store;
}

double MetricStore::counter(const std::string& family, const std::vector<std::string>& labels) const {
  const auto it = m_counters.find(family);
  if (it == m_counters.end()) return 0;
  const auto row = it->second.find(labels);
  return row == it->second.end() ? 0 : row->second;
}

double MetricStore::duration_count(const std::string& step) const {
  const auto it = m_durations.find(step);
  return it == m_durations.end() ? 0 : it->second.count;
}

}  // namespace jobwarden::io
