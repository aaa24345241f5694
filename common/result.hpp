#pragma once
// Result<T, E>: the one shape of a fallible operation in every layer of ours
// (a small stand-in for std::expected, which GCC 12 lacks in C++20): the value,
// or why there is none. Header-only and dependent on nothing of ours, so the
// policy layer (which links nothing of ours) uses the same shape as core,
// platform, io, adapters and cli; core re-exports it as core::Result
// (executor/core/result.hpp). Callers must look at ok() before value().

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace jobwarden {

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
  Result(T v) : m_v(std::in_place_index<0>, std::move(v)) {}  // NOLINT: implicit by design
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

}  // namespace jobwarden
