#pragma once
// jobwarden's Prometheus metrics (docs/policy.md#metrics): the counts one
// finished step adds, a store that merges them into what a textfile already
// holds, and the text exposition format both the textfile collector and the
// Pushgateway read. Pure: no files, no network.
//
// Label values are bounded so that a CI with thousands of step names cannot
// explode the series count:
//  * `step` is the step's name only when the policy names it under `steps:`,
//    it is a stage the GitLab driver knows, or it is `default`; any other name
//    is `other` (metric_step_label);
//  * `rule` is a rule of the policy (a policy is bounded in size), through
//    policy::printable (a rule name is repository text: an ESC byte would
//    reach a terminal that shows the textfile, a bidi override a dashboard),
//    then the format's own escaping;
//  * a store that already holds `max_label_values` distinct values of `step`
//    (or of `rule`) folds every new value into `other` when merging (the
//    host-wide textfile: a backstop against policies that rotate names);
//  * `ci`, `outcome` and `action` are fixed vocabularies.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "executor/core/step_runner.hpp"

namespace jobwarden::io {

inline constexpr std::string_view k_other_label = "other";
inline constexpr const char* k_textfile_name = "jobwarden.prom";

// What the label `step` says for `step`: the name (characters outside
// [A-Za-z0-9_.:-] replaced by '_', at most 64 bytes) when `known`, else "other".
std::string metric_step_label(const std::string& step, bool known);

struct StepMetricsInput {
  std::string ci;    // dialect name
  std::string step;  // the bounded label value (metric_step_label)
  const core::StepResult* result = nullptr;
};

class MetricStore {
 public:
  // Adds what one finished step counts: its attempts, verdict, retries,
  // exhausted rules, starved timeouts, OOM endings, killed processes,
  // escapees, and its duration (attempts plus backoffs).
  void add_step(const StepMetricsInput& in);
  // Adds every count of `other`; a step or rule value new to this store
  // becomes "other" once the store holds `max_label_values` distinct values.
  void merge(const MetricStore& other, int max_label_values);
  // The text exposition: # HELP / # TYPE per family, series sorted, buckets
  // in increasing `le`. Unlabelled counters are always present (0 included).
  std::string render() const;
  // Reads what render() wrote. Lines it does not understand are skipped and
  // counted in `skipped` (a damaged textfile loses those series, not the rest).
  static MetricStore parse(std::string_view text, int& skipped);

  // A counter's value (0 when absent); labels in the family's order.
  double counter(const std::string& family, const std::vector<std::string>& labels = {}) const;
  // The duration histogram's count for a step label.
  double duration_count(const std::string& step) const;

 private:
  struct Histogram {
    std::vector<double> buckets;  // cumulative, one per k_duration_buckets entry
    double sum = 0;
    double count = 0;
  };
  using Labels = std::vector<std::string>;

  void add(const std::string& family, const Labels& labels, double v);
  void observe(const std::string& step, double seconds);
  std::set<std::string> values_of(std::string_view label) const;
  bool parse_line(std::string_view line);

  std::map<std::string, std::map<Labels, double>> m_counters;
  std::map<std::string, Histogram> m_durations;  // by step label
};

}  // namespace jobwarden::io
