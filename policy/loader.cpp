// load_policy: the guards on raw text, yaml-cpp parsing, and the top level of
// a version 1 policy. Every yaml-cpp exception is caught here.

#include "policy/loader.hpp"

#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>

#include "policy/loader_sections.hpp"
#include "policy/text_guard.hpp"

namespace jobwarden::policy {
namespace detail {
namespace {

constexpr int k_supported_version = 1;

void read_nothing(YamlReader&, const Entry&, Policy&) {}  // version: checked before the rest

void read_defaults_section(YamlReader& r, const Entry& e, Policy& p) {
  read_defaults(r, e, p.defaults);
}
void read_fallback_section(YamlReader& r, const Entry& e, Policy& p) {
  read_fallback(r, e, p.defaults.fallback);
}
void read_rules_section(YamlReader& r, const Entry& e, Policy& p) { read_rules(r, e, p.rules); }
void read_flaky_section(YamlReader& r, const Entry& e, Policy& p) {
  static constexpr std::array<std::string_view, 3> k_flaky_actions{"pass", "unstable", "fail"};
  if (auto a = read_action(r, e, k_flaky_actions)) p.flaky = *a;
}
void read_limits_section(YamlReader& r, const Entry& e, Policy& p) { read_limits(r, e, p.limits); }
void read_steps_section(YamlReader& r, const Entry& e, Policy& p) {
  read_steps(r, e, p.defaults, p.steps);
}

// The top-level sections, in the order they are READ (not the file's order):
// steps merge over the defaults and the fallback, so those come first.
constexpr std::array<Field<Policy>, 7> k_sections{{
    {"version", read_nothing},
    {"defaults", read_defaults_section},
    {"fallback", read_fallback_section},
    {"rules", read_rules_section},
    {"flaky", read_flaky_section},
    {"limits", read_limits_section},
    {"steps", read_steps_section},
}};

// Reports a missing or malformed version. False when the file is written for
// another version: then its other keys mean nothing to us and are not read.
bool check_version(YamlReader& r, const YAML::Node& root) {
  for (auto it = root.begin(); it != root.end(); ++it) {
    r.visit();
    if (!it->first.IsScalar() || it->first.Scalar() != "version") continue;
    const Entry e{"version", it->first, it->second, std::string(k_policy_where)};
    const auto number = it->second.IsScalar() ? parse_integer(it->second.Scalar()) : std::nullopt;
    if (!number) {
      r.value_error(
          e, "expected " + std::to_string(k_supported_version) + ", got " + describe(it->second));
      return true;
    }
    if (*number == k_supported_version) return true;
    r.error(it->second, "unsupported policy version " + it->second.Scalar() +
                            " (this jobwarden reads version 1)");
    return false;
  }
  r.error(root, "missing 'version: 1' (required: the policy format's version)");
  return true;
}

std::optional<Policy> build(YamlReader& r, const YAML::Node& root, const std::string& file) {
  Policy p;
  p.source = file;
  p.defaults.fallback = builtin_fallback();
  if (!root.IsMap()) {
    r.error(root, "expected a map starting with 'version: 1', got " + describe(root));
    return std::nullopt;
  }
  if (!check_version(r, root)) return std::nullopt;
  std::array<std::string_view, k_sections.size()> keys{};
  for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = k_sections[i].key;
  const std::vector<Entry> entries = r.entries(root, keys, std::string(k_policy_where));
  for (const auto& section : k_sections) {
    for (const Entry& e : entries) {
      if (e.key == section.key) section.read(r, e, p);
    }
  }
  if (r.has_errors()) return std::nullopt;
  return p;
}

// yaml-cpp's own exceptions, with their 0-based marks.
void report_yaml_exception(YamlReader& r, const YAML::Exception& ex) {
  if (dynamic_cast<const YAML::DeepRecursion*>(&ex) != nullptr) {
    r.error_at(ex.mark, "nesting too deep for a policy file");
  } else {
    r.error_at(ex.mark, "YAML syntax error: " + ex.msg);
  }
}

// Counts the documents of a stream; only the start marks matter.
class DocumentCounter final : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;

  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// The start marks of the first two documents (at most). Why not
// YAML::LoadAll: in yaml-cpp 0.7 a stray ',' at document level makes it loop
// forever, allocating a null document per turn (jbeder/yaml-cpp#1040, fixed
// upstream after 0.8.0): HandleNextDocument reports a document without
// consuming the token. Asking for two documents at most bounds that loop.
std::vector<YAML::Mark> first_documents(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  for (int i = 0; i < 2 && parser.HandleNextDocument(counter); ++i) {
  }
  return std::move(counter.starts);
}

// Exactly one document, read with YAML::Load (which reads the first only).
std::optional<Policy> parse_and_build(YamlReader& r, const std::string& text,
                                      const std::string& file) {
  const std::vector<YAML::Mark> starts = first_documents(text);
  if (starts.empty()) {
    r.error_at(YAML::Mark(), "empty policy: expected a map starting with 'version: 1'");
  } else if (starts.size() > 1 &&
             text.compare(static_cast<std::size_t>(starts[1].pos), 3, "---") != 0) {
    // Not a `---` document: a token the parser could not place, e.g. the
    // stray ',' of the yaml-cpp bug above.
    r.error_at(starts[1], "YAML syntax error: unexpected text (a stray ','?)");
  } else if (starts.size() > 1) {
    r.error_at(starts[1], "a second YAML document: a policy file holds exactly one");
  } else {
    return build(r, YAML::Load(text), file);
  }
  return std::nullopt;
}

std::optional<TextProblem> check_text(std::string_view text) {
  if (auto p = find_encoding_problem(text)) return p;
  return find_layout_problem(text);
}

LoadResult load_unguarded(std::string_view text, const std::string& file) {
  if (text.size() > k_max_policy_bytes) {
    return {std::nullopt,
            {{file, 0, 0,
              "the policy is " + std::to_string(text.size()) + " bytes; at most 1 MiB is read"}}};
  }
  if (auto problem = check_text(text)) {
    return {std::nullopt, {{file, problem->line, problem->column, problem->message}}};
  }
  YamlReader r(file);
  std::optional<Policy> policy;
  try {
    policy = parse_and_build(r, std::string(text), file);
  } catch (const YAML::Exception& ex) {
    report_yaml_exception(r, ex);
  } catch (const LoadAborted&) {
    policy.reset();
  }
  LoadResult result;
  result.errors = r.take_errors();
  if (result.errors.empty()) result.policy = std::move(policy);
  return result;
}

}  // namespace
}  // namespace detail

std::string PolicyError::to_string() const {
  if (line <= 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

LoadResult load_policy(std::string_view yaml_text, const std::string& file_name) {
  try {
    return detail::load_unguarded(yaml_text, file_name);
  } catch (const std::exception& ex) {
    return {std::nullopt, {{file_name, 0, 0, std::string("cannot load policy: ") + ex.what()}}};
  } catch (...) {
    return {std::nullopt, {{file_name, 0, 0, "cannot load policy: unexpected error"}}};
  }
}

LoadResult load_policy_file(const std::string& path) {
  const auto unreadable = [&](const std::string& why) {
    return LoadResult{std::nullopt, {{path, 0, 0, "cannot read the policy file: " + why}}};
  };
  try {
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) return unreadable(errno != 0 ? std::generic_category().message(errno) : "open failed");
    std::string text(k_max_policy_bytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.bad()) return unreadable("read error (is it a directory?)");
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > k_max_policy_bytes) {
      return {std::nullopt, {{path, 0, 0, "the policy file is larger than 1 MiB"}}};
    }
    return load_policy(text, path);
  } catch (const std::exception& ex) {
    return unreadable(ex.what());
  }
}

}  // namespace jobwarden::policy
