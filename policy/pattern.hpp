#pragma once
// Output patterns of policy rules: RE2 (linear time, so a repository's
// pattern can never hang the executor), searched anywhere in the attempt's
// bounded output tail. RE2 stays behind this interface.

#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace jobwarden::policy {

class OutputPattern {
 public:
  // Compiles `source`, or RE2's reason why not.
  static Result<std::shared_ptr<const OutputPattern>, std::string> compile(const std::string& source);
  ~OutputPattern();
  OutputPattern(const OutputPattern&) = delete;
  OutputPattern& operator=(const OutputPattern&) = delete;

  // True when the pattern matches anywhere in `text` (unanchored search).
  bool search(std::string_view text) const;
  const std::string& source() const { return m_source; }

 private:
  struct Impl;
  OutputPattern(std::string source, std::unique_ptr<Impl> impl);
  std::string m_source;
  std::unique_ptr<Impl> m_impl;
};

// A compiled pattern as a rule holds it: shared by the copies of a policy,
// and equal to another when their sources are, so that two loads of one text
// compare equal (the prebuilt default policy is held to the parsed one that
// way: tests/unit/default_policy_test.cpp).
class SharedPattern : public std::shared_ptr<const OutputPattern> {
 public:
  SharedPattern() = default;
  SharedPattern(std::shared_ptr<const OutputPattern> p) noexcept  // NOLINT: implicit by design
      : std::shared_ptr<const OutputPattern>(std::move(p)) {}
  friend bool operator==(const SharedPattern& a, const SharedPattern& b) {
    if (!a || !b) return !a && !b;
    return a->source() == b->source();
  }
};

}  // namespace jobwarden::policy
