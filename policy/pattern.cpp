#include "policy/pattern.hpp"

#include <re2/re2.h>

#include "policy/printable.hpp"

namespace jobwarden::policy {

struct OutputPattern::Impl {
  explicit Impl(const std::string& source, const RE2::Options& options) : re(source, options) {}
  RE2 re;
};

OutputPattern::OutputPattern(std::string source, std::unique_ptr<Impl> impl)
    : m_source(std::move(source)), m_impl(std::move(impl)) {}

OutputPattern::~OutputPattern() = default;

Result<std::shared_ptr<const OutputPattern>, std::string> OutputPattern::compile(const std::string& source) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(8 << 20);  // bounds the compiled program: a hostile pattern fails, never hangs
  auto impl = std::make_unique<Impl>(source, options);
  // RE2's message repeats the text it could not parse, which may be all of
  // the pattern: quoted back bounded and escaped, like any policy text.
  if (!impl->re.ok()) return unexpected(printable(impl->re.error(), k_max_quoted + 20));
  return std::shared_ptr<const OutputPattern>(new OutputPattern(source, std::move(impl)));
}

bool OutputPattern::search(std::string_view text) const {
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), m_impl->re);
}

}  // namespace jobwarden::policy
