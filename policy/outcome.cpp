#include "policy/outcome.hpp"

#include <array>
#include <utility>

namespace jobwarden::policy {
namespace {

constexpr std::array<std::pair<Outcome, std::string_view>, 7> k_outcomes{{
    {Outcome::success, "success"},
    {Outcome::red, "red"},
    {Outcome::timeout, "timeout"},
    {Outcome::oom, "oom"},
    {Outcome::signal, "signal"},
    {Outcome::cancelled, "cancelled"},
    {Outcome::error, "error"},
}};

constexpr std::array<std::pair<Action, std::string_view>, 4> k_actions{{
    {Action::pass, "pass"},
    {Action::fail, "fail"},
    {Action::unstable, "unstable"},
    {Action::system_failure, "system_failure"},
}};

template <typename E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "?";
}

template <typename E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, std::string_view>, N>& table,
                          std::string_view text) {
  for (const auto& [v, name] : table) {
    if (name == text) return v;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(Outcome o) { return name_of(k_outcomes, o); }
std::string_view to_string(Action a) { return name_of(k_actions, a); }
std::optional<Outcome> parse_outcome(std::string_view text) { return value_of(k_outcomes, text); }
std::optional<Action> parse_action(std::string_view text) { return value_of(k_actions, text); }

}  // namespace jobwarden::policy
