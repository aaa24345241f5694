#include "policy/signal_names.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <utility>

namespace jobwarden::policy {
namespace {

constexpr std::array<std::pair<int, std::string_view>, 31> k_signals{{
    {1, "SIGHUP"},   {2, "SIGINT"},   {3, "SIGQUIT"},   {4, "SIGILL"},    {5, "SIGTRAP"},
    {6, "SIGABRT"},  {7, "SIGBUS"},   {8, "SIGFPE"},    {9, "SIGKILL"},   {10, "SIGUSR1"},
    {11, "SIGSEGV"}, {12, "SIGUSR2"}, {13, "SIGPIPE"},  {14, "SIGALRM"},  {15, "SIGTERM"},
    {16, "SIGSTKFLT"}, {17, "SIGCHLD"}, {18, "SIGCONT"}, {19, "SIGSTOP"}, {20, "SIGTSTP"},
    {21, "SIGTTIN"}, {22, "SIGTTOU"}, {23, "SIGURG"},   {24, "SIGXCPU"},  {25, "SIGXFSZ"},
    {26, "SIGVTALRM"}, {27, "SIGPROF"}, {28, "SIGWINCH"}, {29, "SIGIO"}, {30, "SIGPWR"},
    {31, "SIGSYS"},
}};

}  // namespace

std::string signal_name(int number) {
  for (const auto& [n, name] : k_signals) {
    if (n == number) return std::string(name);
  }
  return "SIG" + std::to_string(number);
}

std::optional<int> parse_signal(std::string_view text) {
  if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0]))) {
    int n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || n < 1 || n > 64) return {};
    return n;
  }
  std::string upper;
  for (char c : text) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper.rfind("SIG", 0) != 0) upper = "SIG" + upper;
  for (const auto& [n, name] : k_signals) {
    if (name == upper) return n;
  }
  return {};
}

}  // namespace jobwarden::policy
