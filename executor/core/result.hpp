#pragma once
// Result<T, E>: a small stand-in for std::expected (GCC 12 has none in C++20).
// Library layers return it instead of throwing; callers must look at ok().

#include <cassert>
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

// A failed system call: which operation and its errno.
struct SysError {
  std::string op;
  int err = 0;
  std::string message() const;  // "op: strerror(err)"
};

}  // namespace jobwarden::core
