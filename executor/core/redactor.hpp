#pragma once
// Secret values (masked CI variables, admin-listed variables) that must never
// appear in what jobwarden itself writes: its job-log lines, section markers,
// reports, metrics and alerts. The step's own output is relayed untouched
// (the CI masks its log itself).
//
// Contract: redact() replaces every occurrence of a secret — as written, as
// it appears once escaped inside a JSON string or a Prometheus label value,
// as policy::printable shows it, and that shown form escaped inside a JSON
// string or a label value (the alert, the metrics) — by "[MASKED]". Longer secrets are replaced first, so a secret that
// contains another is masked whole. Values shorter than k_min_secret_length
// are not masked (GitLab refuses to mask values under 8 characters; masking
// "1" would mangle every line): add_secret() says so by returning false.
//
// Cut text: a secret cut in two no longer matches whole, so whoever cuts
// untrusted text masks it first (JobLog, describe_processes, the step result
// through mask_step_result). Where text can only be cut before the secrets are
// known (a policy error's 40-byte quote, made in the pure policy layer), the
// cut is marked: printable() and the job log's one-line squeeze append
// k_cut_marker there, and redact() also masks a secret's prefix of at least
// k_min_cut_fragment bytes that ends right at such a marker. So at most
// k_min_cut_fragment - 1 bytes of a secret can stay visible at a cut: fewer
// cannot be told from ordinary text.

#include <string>
#include <string_view>
#include <vector>

namespace jobwarden::core {

inline constexpr std::size_t k_min_secret_length = 4;
inline constexpr std::string_view k_masked = "[MASKED]";
inline constexpr std::string_view k_cut_marker = "...";
inline constexpr std::size_t k_min_cut_fragment = 3;

class Redactor {
 public:
  // False (and nothing added) when `value` is too short to be masked.
  bool add_secret(std::string_view value);
  bool empty() const { return m_needles.empty(); }
  std::string redact(std::string_view text) const;
  // redact(), for text whose beginning was cut off at an unknown place (the
  // tail of a step's output): a secret's proper suffix (any length) that
  // starts the text is masked too.
  std::string redact_tail(std::string_view text) const;

 private:
  std::vector<std::string> m_needles;  // longest first
};

// `text` escaped as inside a JSON string (what nlohmann::json::dump writes).
std::string json_escaped(std::string_view text);
// `text` escaped as a Prometheus label value (\\, \", \n).
std::string label_escaped(std::string_view text);

}  // namespace jobwarden::core
