#pragma once
// Cheap checks of a policy's raw text, done BEFORE yaml-cpp sees it: yaml-cpp
// assumes text (NUL bytes and invalid UTF-8 give confusing errors) and its
// parser recurses once per nesting level. yaml-cpp 0.7 does carry a
// DepthGuard, but it fires only around 500 levels with the unhelpful message
// "bad file"; a policy needs about 6 levels, so we refuse far earlier, with a
// clear message and position. Pure: no yaml-cpp here.

#include <optional>
#include <string>
#include <string_view>

namespace jobwarden::policy {

inline constexpr int k_max_policy_nesting = 32;

struct TextProblem {
  int line = 0;    // 1-based
  int column = 0;  // 1-based, in bytes
  std::string message;
};

// The first NUL byte, control character or invalid UTF-8 sequence, if any.
// Messages name the text as `what` ("a policy must be UTF-8 text").
std::optional<TextProblem> find_encoding_problem(std::string_view text,
                                                 std::string_view what = "a policy");

// The first place where a conservative estimate of the YAML nesting depth
// (indentation levels + block indicators on the line + open flow brackets)
// exceeds k_max_policy_nesting, or where a tab indents a line. Quoted strings,
// comments and block scalars are skipped. The estimate is meant to catch
// hostile and absurd files with a clear message; it is not a YAML parser, and
// yaml-cpp's own DepthGuard remains as the last line of defence.
std::optional<TextProblem> find_layout_problem(std::string_view text,
                                               std::string_view what = "a policy");

}  // namespace jobwarden::policy
