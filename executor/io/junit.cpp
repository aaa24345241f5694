#include "executor/io/junit.hpp"

#include <cstdio>

#include "executor/core/log_lines.hpp"
#include "executor/io/report.hpp"
#include "policy/outcome.hpp"

namespace jobwarden::io {
namespace {

// The last bytes of an attempt's output kept per failed attempt.
constexpr std::size_t k_output_bytes = 16 * 1024;

// Decodes one UTF-8 sequence at text[i]; returns its length (0: invalid).
std::size_t utf8_sequence(std::string_view text, std::size_t i, unsigned& cp) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char c = b(0);
  std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (len == 0 || i + len > text.size()) return 0;
  cp = len == 1 ? c : len == 2 ? (c & 0x1fu) : len == 3 ? (c & 0x0fu) : (c & 0x07u);
  for (std::size_t k = 1; k < len; ++k) {
    if ((b(k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3fu);
  }
  const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

// XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
bool xml_char(unsigned cp) {
  return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
         cp >= 0x10000;
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s < 0 ? 0.0 : s);
  return buf;
}

std::string attr(const char* name, std::string_view value) {
  return std::string(" ") + name + "=\"" + xml_escape(value, true) + "\"";
}

bool succeeded(const core::AttemptRecord& a) { return a.outcome == policy::Outcome::success; }

// One failed attempt as <tag message=... type=...>summary<system-out>tail</system-out></tag>.
std::string attempt_element(const char* tag, const core::AttemptRecord& a, int max_attempts) {
  const std::string message = "attempt " + std::to_string(a.number) + ": " +
                              std::string(policy::to_string(a.outcome)) + " (" + core::status_phrase(a) +
                              ", code " + std::to_string(a.step_exit_code) + ")";
  std::string_view tail = a.usage.output_tail;
  if (tail.size() > k_output_bytes) tail.remove_prefix(tail.size() - k_output_bytes);
  std::string out = "      <" + std::string(tag) + attr("message", message) +
                    attr("type", policy::to_string(a.outcome)) + ">";
  out += "<stackTrace>" + xml_escape(core::attempt_summary(a, max_attempts), false) + "</stackTrace>";
  out += "<system-out>" + xml_escape(tail, false) + "</system-out>";
  return out + "</" + tag + ">\n";
}

}  // namespace

std::string xml_escape(std::string_view text, bool attribute) {
  std::string out;
  out.reserve(text.size() + 16);
  for (std::size_t i = 0; i < text.size();) {
    unsigned cp = 0;
    const std::size_t len = utf8_sequence(text, i, cp);
    if (len == 0 || !xml_char(cp)) {
      out += "\xef\xbf\xbd";  // U+FFFD
      i += len == 0 ? 1 : len;
      continue;
    }
    const char c = text[i];
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (attribute && c == '"') out += "&quot;";
    else if (attribute && c == '\n') out += "&#10;";
    else if (attribute && c == '\r') out += "&#13;";
    else if (attribute && c == '\t') out += "&#9;";
    else if (c == '\r') out += "&#13;";  // would be normalised to \n otherwise
    else out.append(text.substr(i, len));
    i += len;
  }
  return out;
}

std::string render_junit(const JunitInput& in) {
  const core::StepResult& r = *in.result;
  const int n = static_cast<int>(r.attempts.size());
  const bool passed = r.action == policy::Action::pass ||
                      (!r.attempts.empty() && succeeded(r.attempts.back()) && r.action != policy::Action::fail);
  const bool host_fault = r.action == policy::Action::system_failure;
  double time = 0.0;
  for (const auto& a : r.attempts) time += a.total_seconds;
  for (const auto& b : r.backoffs) time += std::chrono::duration<double>(b).count();

  std::string cases;
  bool first_failure = true;
  for (const auto& a : r.attempts) {
    if (succeeded(a)) continue;
    const char* tag = passed          ? "flakyFailure"
                      : first_failure ? (host_fault ? "error" : "failure")
                                      : (host_fault ? "rerunError" : "rerunFailure");
    cases += attempt_element(tag, a, n);
    first_failure = false;
  }
  std::string_view last_tail = r.attempts.empty() ? std::string_view() : std::string_view(r.attempts.back().usage.output_tail);
  if (last_tail.size() > k_output_bytes) last_tail.remove_prefix(last_tail.size() - k_output_bytes);

  const std::string failures = !passed && !host_fault ? "1" : "0";
  const std::string errors = !passed && host_fault ? "1" : "0";
  const std::string counts = attr("tests", "1") + attr("failures", failures) + attr("errors", errors) +
                             attr("skipped", "0") + attr("time", seconds(time));
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += "<testsuites" + attr("name", "jobwarden") + counts + ">\n";
  xml += "  <testsuite" + attr("name", "jobwarden") + counts +
         (r.attempts.empty() ? std::string() : attr("timestamp", iso8601(r.attempts.front().started_at))) + ">\n";
  xml += "    <properties>\n";
  xml += "      <property" + attr("name", "jobwarden.action") + attr("value", policy::to_string(r.action)) + "/>\n";
  xml += "      <property" + attr("name", "jobwarden.exit_code") + attr("value", std::to_string(r.exit_code)) + "/>\n";
  xml += "      <property" + attr("name", "jobwarden.attempts") + attr("value", std::to_string(n)) + "/>\n";
  xml += "      <property" + attr("name", "jobwarden.reason") + attr("value", r.reason) + "/>\n";
  xml += "    </properties>\n";
  xml += "    <testcase" + attr("classname", "jobwarden") + attr("name", in.step) + attr("time", seconds(time)) + ">\n";
  xml += cases;
  xml += "      <system-out>" + xml_escape(last_tail, false) + "</system-out>\n";
  xml += "    </testcase>\n  </testsuite>\n</testsuites>\n";
  return xml;
}

}  // namespace jobwarden::io
