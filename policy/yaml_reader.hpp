#pragma once
// INTERNAL to the loaders (loader.cpp, *_reader.cpp, admin_config.cpp): typed, strict
// reading of yaml-cpp nodes with error collection. Nothing outside the loader
// includes this header: yaml-cpp stays behind load_policy().
//
// Every read reports its own errors (file:line:col and what was expected) and
// returns nullopt / skips the value, so that the loader keeps going and
// reports all the errors of a file.

#include <yaml-cpp/yaml.h>

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policy/byte_size.hpp"
#include "policy/duration.hpp"
#include "policy/loader.hpp"

namespace jobwarden::policy::detail {

// Thrown (and caught by load_policy) when a file is hopeless: too many
// errors, or more nodes visited than any real policy has (alias bombs).
struct LoadAborted {};

inline constexpr std::size_t k_max_nodes_visited = 200'000;
// `where` of the root map of a policy and of an admin configuration.
inline constexpr std::string_view k_policy_where = "the policy";
inline constexpr std::string_view k_admin_where = "the admin configuration";

// One key: value pair of a map, with the description of the map it is in.
struct Entry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
  std::string where;  // e.g. "rule 'dpkg-lock'", "'backoff' of step 'build'"

  // The `where` of the map this entry's value is: "'backoff' of step 'build'".
  std::string child_where() const;
};

// " (did you mean 'retry'?)" when a candidate is close to `word`, else "".
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates);
// Decimal digits with an optional '-', nothing else (no '+', no 0x, no spaces).
std::optional<long long> parse_integer(std::string_view text);
// "timeout, grace, backoff" for messages.
std::string join(std::span<const std::string_view> words);

class YamlReader {
 public:
  // `a_noun` names the kind of file in messages ("not a policy file").
  explicit YamlReader(std::string file, std::string_view a_noun = "a policy")
      : m_file(std::move(file)), m_a_noun(a_noun) {}

  void error_at(const YAML::Mark& mark, std::string message);
  void error(const YAML::Node& node, std::string message);
  // "'<key>' in <where>: <problem>" at `at` (the entry's value by default; its
  // key when the value is empty, since yaml-cpp marks an empty value at the next token).
  void value_error(const Entry& e, const std::string& problem, const YAML::Node* at = nullptr);
  std::vector<PolicyError> take_errors();
  bool has_errors() const { return !m_errors.empty(); }

  // Counts one node against k_max_nodes_visited; throws LoadAborted past it.
  void visit();

  // The pairs of `map` (null counts as an empty map), in file order. Reports
  // and drops non-scalar keys, keys not in `allowed` (any key when `allowed`
  // is empty) and duplicate keys. `noun` names what the keys are ("key", "outcome").
  std::vector<Entry> entries(const YAML::Node& map, std::span<const std::string_view> allowed,
                             const std::string& where, std::string_view noun = "key");
  // The scalar text of the first `key` of `map`, without reporting anything.
  std::optional<std::string> peek_scalar(const YAML::Node& map, std::string_view key);

  // Typed values: report and return nullopt when the value is not what is expected.
  std::optional<std::string> string(const Entry& e);
  std::optional<long long> integer(const Entry& e, long long lo, long long hi);
  std::optional<double> number(const Entry& e, double lo, double hi, std::string_view expected);
  std::optional<bool> boolean(const Entry& e);
  std::optional<Duration> duration(const Entry& e);
  std::optional<ByteSize> byte_size(const Entry& e);
  // A scalar or a non-empty list of scalars (a list means "any of"); the
  // scalar nodes, non-scalar elements reported and dropped.
  std::vector<YAML::Node> scalars(const Entry& e);
  // The entry's value as a list (null counts as empty); reports anything else.
  std::vector<YAML::Node> list(const Entry& e, std::string_view expected);

 private:
  std::optional<std::string> scalar_text(const Entry& e, std::string_view expected);
  // A scalar parsed by `parse` (the value, or what was expected), its error reported at the value.
  template <typename T>
  std::optional<T> parsed_scalar(const Entry& e, std::string_view expected,
                                 Result<T, std::string> (*parse)(std::string_view));

  std::string m_file;
  std::string m_a_noun;
  std::vector<PolicyError> m_errors;
  std::size_t m_nodes_visited = 0;
};

// "a list", "a map", "nothing", "'text'" (shortened, control characters escaped).
std::string describe(const YAML::Node& node);

// A table of the keys of one map: key -> how to read its value into T.
template <typename T>
struct Field {
  std::string_view key;
  void (*read)(YamlReader&, const Entry&, T&);
};

// Reads the keys of `map` through `fields`, in file order.
template <typename T, std::size_t N>
void read_fields(YamlReader& r, const YAML::Node& map, const std::array<Field<T>, N>& fields,
                 const std::string& where, T& out) {
  std::array<std::string_view, N> keys{};
  for (std::size_t i = 0; i < N; ++i) keys[i] = fields[i].key;
  for (const Entry& e : r.entries(map, keys, where)) {
    for (const auto& f : fields) {
      if (f.key == e.key) f.read(r, e, out);
    }
  }
}

}  // namespace jobwarden::policy::detail
