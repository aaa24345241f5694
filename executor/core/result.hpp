#pragma once
// Result<T, E>: a small stand-in for std::expected (GCC 12 has none in C++20).
// Library layers return it instead of throwing; callers must look at ok().

#include <cassert>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace jobwarden::core {

template <typename E>
struct Unexpected {
  E error;
};
template <typename E>
Unexpected<std::decay_t<E>> unexpected(E&& e) {
  return {std::forward<E>(e)};
}

template <typename T, typename E>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Unexpected<E> e) : m_v(std::in_place_index<1>, std::move(e.error)) {}  // NOLINT
  bool ok() const { return m_v.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() {
    assert(ok());
    return std::get<0>(m_v);
  }
  const T& value() const {
    assert(ok());
    return std::get<0>(m_v);
  }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const E& error() const {
    assert(!ok());
    return std::get<1>(m_v);
  }

 private:
  std::variant<T, E> m_v;
};

// Result<void, E>
struct Ok {};
template <typename E>
using Status = Result<Ok, E>;

// The one exception jobwarden throws, and only from the process runner: a
// fault of jobwarden itself, not of the step, that leaves it unable to go on
// supervising (ppoll failing with other than EINTR; no descriptor or process
// left to start the step with). main's catch-all turns it into the
// internal-fault exit code (70; 2 for the GitLab driver), after the runner's
// destructor has killed and reaped whatever the step started.
struct InternalFault : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A failed system call: which operation and its errno.
struct SysError {
  std::string op;
  int err = 0;
  std::string message() const;  // "op: strerror(err)"
};

}  // namespace jobwarden::core
