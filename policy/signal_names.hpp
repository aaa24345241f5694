#pragma once
// Linux signal names and numbers (x86_64/arm64 numbering), for logs,
// reports and policy conditions. Pure data: no <signal.h> here.

#include <optional>
#include <string>
#include <string_view>

namespace jobwarden::policy {

// "SIGKILL" for 9; "SIG42" for numbers without a name.
std::string signal_name(int number);
// Accepts "SIGKILL", "KILL", "kill", "9".
std::optional<int> parse_signal(std::string_view text);

}  // namespace jobwarden::policy
