#pragma once
// Secret values (masked CI variables, admin-listed variables) that must never
// appear in what jobwarden itself writes: its job-log lines, section markers,
// reports, metrics and alerts. The step's own output is relayed untouched
// (the CI masks its log itself).
//
// Contract: redact() replaces every occurrence of a secret — as written, and
// as it appears once escaped inside a JSON string or a Prometheus label value
// — by "[MASKED]". Longer secrets are replaced first, so a secret that
// contains another is masked whole. Values shorter than k_min_secret_length
// are not masked (GitLab refuses to mask values under 8 characters; masking
// "1" would mangle every line): add_secret() says so by returning false.

#include <string>
#include <string_view>
#include <vector>

namespace jobwarden::core {

inline constexpr std::size_t k_min_secret_length = 4;
inline constexpr std::string_view k_masked = "[MASKED]";

class Redactor {
 public:
  // False (and nothing added) when `value` is too short to be masked.
  bool add_secret(std::string_view value);
  bool empty() const { return m_needles.empty(); }
  std::string redact(std::string_view text) const;

 private:
  std::vector<std::string> m_needles;  // longest first
};

// `text` escaped as inside a JSON string (what nlohmann::json::dump writes).
std::string json_escaped(std::string_view text);
// `text` escaped as a Prometheus label value (\\, \", \n).
std::string label_escaped(std::string_view text);

}  // namespace jobwarden::core
