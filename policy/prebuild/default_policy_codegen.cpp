// Build tool: loads the embedded default policy with the ordinary loader
// (the YAML of default_policy.cpp, the one definition) and writes the C++
// of prebuilt_default_policy(), which builds the same Policy without
// parsing (loader.hpp). jobwarden uses it for every run without a
// repository policy: yaml-cpp's parse was ~0.2 ms of each start
// (bench/RESULTS.md). A default text that does not load fails the build.
// tests/unit/default_policy_test.cpp holds the two policies equal.
//
// Usage: jw-default-policy-codegen OUTPUT.cpp

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "policy/loader.hpp"
#include "policy/model.hpp"

namespace {

using namespace jobwarden::policy;

// A C++ string literal: printable ASCII as it is, everything else octal.
std::string literal(const std::string& text) {
  std::string out = "\"";
  for (const unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char octal[5];
      std::snprintf(octal, sizeof octal, "\\%03o", c);
      out += octal;
    }
  }
  return out + "\"";
}

// Exact: a hexadecimal floating literal.
std::string literal(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%a", value);
  return text;
}

std::string duration(Duration d) { return "Duration{" + std::to_string(d.count()) + "}"; }

std::string optional_duration(const std::optional<Duration>& d) { return d ? duration(*d) : "std::nullopt"; }

std::string outcome(Outcome o) { return "Outcome::" + std::string(to_string(o)); }

std::string action(Action a) { return "Action::" + std::string(to_string(a)); }

template <typename T, typename Render>
std::string list(const std::vector<T>& items, Render render) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i == 0 ? "" : ", ") + render(items[i]);
  return out + "}";
}

// Statements that fill `target` (an lvalue expression of a default-made
// StepSettings) with `s`, each line indented by `indent`.
void emit_settings(std::ostream& out, const std::string& indent, const std::string& target, const StepSettings& s) {
  const std::string at = indent + target;
  out << at << ".timeout = " << duration(s.timeout) << ";\n";
  out << at << ".grace = " << duration(s.grace) << ";\n";
  if (s.memory) out << at << ".memory = ByteSize{" << *s.memory << "ULL};\n";
  out << at << ".backoff.initial = " << duration(s.backoff.initial) << ";\n";
  out << at << ".backoff.factor = " << literal(s.backoff.factor) << ";\n";
  out << at << ".backoff.max = " << duration(s.backoff.max) << ";\n";
  out << at << ".backoff.jitter = " << literal(s.backoff.jitter) << ";\n";
  out << at << ".starvation.cpu_wait = " << literal(s.starvation.cpu_wait) << ";\n";
  out << at << ".starvation.cpu_share = " << literal(s.starvation.cpu_share) << ";\n";
  out << at << ".fallback.clear();\n";
  for (const auto& [o, a] : s.fallback) out << at << ".fallback[" << outcome(o) << "] = " << action(a) << ";\n";
}

void emit_rule(std::ostream& out, const Rule& rule) {
  const Condition& c = rule.when;
  out << "  {\n    Rule r;\n";
  out << "    r.name = " << literal(rule.name) << ";\n";
  out << "    r.when.outcomes = " << list(c.outcomes, outcome) << ";\n";
  out << "    r.when.exit_codes = " << list(c.exit_codes, [](int v) { return std::to_string(v); }) << ";\n";
  out << "    r.when.signals = " << list(c.signals, [](int v) { return std::to_string(v); }) << ";\n";
  out << "    r.when.steps = " << list(c.steps, [](const std::string& v) { return literal(v); }) << ";\n";
  if (c.starved) out << "    r.when.starved = " << (*c.starved ? "true" : "false") << ";\n";
  if (c.output) {
    out << "    r.when.output = OutputPattern::compile(" << literal(c.output->source()) << ").value();\n";
  }
  out << "    r.when.min_duration = " << optional_duration(c.min_duration) << ";\n";
  out << "    r.when.max_duration = " << optional_duration(c.max_duration) << ";\n";
  out << "    r.retry = " << rule.retry << ";\n";
  out << "    r.then = " << action(rule.then) << ";\n";
  out << "    p.rules.push_back(std::move(r));\n  }\n";
}

std::string render(const Policy& p) {
  std::ostringstream out;
  out << "// Generated at build time by jw-default-policy-codegen from the embedded\n"
         "// default policy (policy/default_policy.cpp). Do not edit.\n"
         "#include \"policy/loader.hpp\"\n\n"
         "namespace jobwarden::policy {\n\n"
         "Policy prebuilt_default_policy() {\n"
         "  Policy p;\n";
  out << "  p.version = " << p.version << ";\n";
  out << "  p.source = " << literal(p.source) << ";\n";
  emit_settings(out, "  ", "p.defaults", p.defaults);
  for (const Rule& rule : p.rules) emit_rule(out, rule);
  out << "  p.flaky = " << action(p.flaky) << ";\n";
  for (const auto& [name, settings] : p.steps) {
    out << "  {\n    StepSettings& step = p.steps[" << literal(name) << "];\n";
    emit_settings(out, "    ", "step", settings);
    out << "  }\n";
  }
  out << "  p.limits.max_attempts = " << p.limits.max_attempts << ";\n";
  out << "  p.limits.max_retry_time = " << duration(p.limits.max_retry_time) << ";\n";
  out << "  return p;\n}\n\n}  // namespace jobwarden::policy\n";
  return out.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: jw-default-policy-codegen OUTPUT.cpp\n";
    return 2;
  }
  const LoadResult loaded = load_embedded_default_policy();
  if (!loaded.ok()) {
    for (const PolicyError& e : loaded.errors) std::cerr << e.to_string() << "\n";
    std::cerr << "jw-default-policy-codegen: the embedded default policy does not load\n";
    return 1;
  }
  std::ofstream file(argv[1], std::ios::trunc);
  file << render(*loaded.policy);
  file.close();
  if (!file) {
    std::cerr << "jw-default-policy-codegen: cannot write " << argv[1] << "\n";
    return 1;
  }
  return 0;
}
