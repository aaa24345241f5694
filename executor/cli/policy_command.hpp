#pragma once
// `jobwarden policy check|explain|default`.

#include <optional>
#include <string>

namespace jobwarden::cli {

int policy_check(const std::string& file);
int policy_default();

struct ExplainArgs {
  std::string file;
  std::string outcome;
  std::optional<int> exit_code;
  std::string signal;
  std::string step = "default";
  std::string output_file;
  int attempt = 1;
  bool starved = false;
  std::string duration;
};
int policy_explain(const ExplainArgs& args);

}  // namespace jobwarden::cli
