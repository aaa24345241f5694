#include "policy/yaml_reader.hpp"

#include "policy/printable.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

namespace jobwarden::policy::detail {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Optimal string alignment distance (Levenshtein plus adjacent transpositions),
// case-insensitive.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1])) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string quote(std::string_view text) { return quoted_excerpt(text); }

std::string unknown_hint(std::string_view name, std::span<const std::string_view> allowed) {
  if (name == "<<") return " (YAML merge keys are not supported)";
  std::string hint = did_you_mean(name, allowed);
  return hint.empty() ? " (expected one of " + join(allowed) + ")" : hint;
}

}  // namespace

std::string Entry::child_where() const {
  if (where == k_policy_where || where == k_admin_where) return "'" + key + "'";
  return "'" + key + "' of " + where;
}

std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
  std::string_view best;
  std::size_t best_distance = std::string_view::npos;
  for (std::string_view c : candidates) {
    const std::size_t d = edit_distance(word, c);
    const std::size_t limit = std::max<std::size_t>(1, std::max(word.size(), c.size()) / 2);
    if (d <= limit && d < word.size() && d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best.empty() ? "" : " (did you mean '" + std::string(best) + "'?)";
}

std::optional<long long> parse_integer(std::string_view text) {
  long long v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

std::string join(std::span<const std::string_view> words) {
  std::string out;
  for (std::string_view w : words) out += (out.empty() ? "" : ", ") + std::string(w);
  return out;
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: return quote(node.Scalar());
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

void YamlReader::error_at(const YAML::Mark& mark, std::string message) {
  if (m_errors.size() >= k_max_policy_errors) {
    m_errors.push_back(
        {m_file, 0, 0, "too many errors; stopped after " + std::to_string(k_max_policy_errors)});
    throw LoadAborted{};
  }
  const bool known = !mark.is_null();
  m_errors.push_back(
      {m_file, known ? mark.line + 1 : 0, known ? mark.column + 1 : 0, std::move(message)});
}

void YamlReader::error(const YAML::Node& node, std::string message) {
  error_at(node.Mark(), std::move(message));
}

void YamlReader::value_error(const Entry& e, const std::string& problem, const YAML::Node* at) {
  const YAML::Node& node = at != nullptr && !at->IsNull() ? *at : e.value;
  const YAML::Node& where = node.IsNull() ? e.key_node : node;
  error(where, "'" + e.key + "' in " + e.where + ": " + problem);
}

std::vector<PolicyError> YamlReader::take_errors() {
  // Sections are read in a fixed order, not file order: sort, keeping the
  // whole-file errors (line 0, e.g. "too many errors") last.
  std::stable_sort(m_errors.begin(), m_errors.end(), [](const auto& a, const auto& b) {
    const auto key = [](const PolicyError& e) {
      return std::pair(e.line == 0 ? std::numeric_limits<int>::max() : e.line, e.column);
    };
    return key(a) < key(b);
  });
  return std::move(m_errors);
}

void YamlReader::visit() {
  if (++m_nodes_visited <= k_max_nodes_visited) return;
  m_errors.push_back({m_file, 0, 0,
                      "more than " + std::to_string(k_max_nodes_visited) +
                          " YAML nodes to read (aliases expanding?): not " + m_a_noun + " file"});
  throw LoadAborted{};
}

std::vector<Entry> YamlReader::entries(const YAML::Node& map,
                                       std::span<const std::string_view> allowed,
                                       const std::string& where, std::string_view noun) {
  std::vector<Entry> out;
  visit();
  if (map.IsNull()) return out;
  if (!map.IsMap()) {
    const std::string keys = allowed.empty() ? "" : " with keys " + join(allowed);
    error(map, where + ": expected a map" + keys + ", got " + describe(map));
    return out;
  }
  std::map<std::string, int, std::less<>> seen;  // key -> 1-based line of its first occurrence
  for (auto it = map.begin(); it != map.end(); ++it) {
    visit();
    visit();
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      error(key.IsNull() ? it->second : key,
            where + ": expected a " + std::string(noun) + " name, got " + describe(key));
      continue;
    }
    const std::string& name = key.Scalar();
    const std::string n(noun);
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      error(key, "unknown " + n + " " + quote(name) + " in " + where + unknown_hint(name, allowed));
      continue;
    }
    // yaml-cpp 0.7 keeps every pair of a map, duplicates included (and
    // node[key] answers the first): the YAML spec says keys are unique, so
    // a second occurrence is an error here rather than silently ignored.
    if (auto first = seen.find(name); first != seen.end()) {
      error(key, "duplicate " + n + " " + quote(name) + " in " + where + " (first at line " +
                     std::to_string(first->second) + ")");
      continue;
    }
    seen.emplace(name, key.Mark().line + 1);
    out.push_back({name, key, it->second, where});
  }
  return out;
}

std::optional<std::string> YamlReader::peek_scalar(const YAML::Node& map, std::string_view key) {
  if (!map.IsMap()) return std::nullopt;
  for (auto it = map.begin(); it != map.end(); ++it) {
    visit();
    if (it->first.IsScalar() && it->first.Scalar() == key) {
      if (!it->second.IsScalar()) return std::nullopt;
      return it->second.Scalar();
    }
  }
  return std::nullopt;
}

std::optional<std::string> YamlReader::scalar_text(const Entry& e, std::string_view expected) {
  visit();
  if (e.value.IsScalar()) return e.value.Scalar();
  value_error(e, "expected " + std::string(expected) + ", got " + describe(e.value));
  return std::nullopt;
}

std::optional<std::string> YamlReader::string(const Entry& e) { return scalar_text(e, "a string"); }

std::optional<long long> YamlReader::integer(const Entry& e, long long lo, long long hi) {
  const std::string expected =
      "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  const auto text = scalar_text(e, expected);
  if (!text) return std::nullopt;
  const auto v = parse_integer(*text);
  if (v && *v >= lo && *v <= hi) return v;
  value_error(e, "expected " + expected + ", got " + quote(*text));
  return std::nullopt;
}

std::optional<double> YamlReader::number(const Entry& e, double lo, double hi,
                                         std::string_view expected) {
  const auto text = scalar_text(e, expected);
  if (!text) return std::nullopt;
  double v = 0.0;
  const char* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, v);
  if (ec == std::errc() && ptr == end && std::isfinite(v) && v >= lo && v <= hi) return v;
  value_error(e, "expected " + std::string(expected) + ", got " + quote(*text));
  return std::nullopt;
}

std::optional<bool> YamlReader::boolean(const Entry& e) {
  // YAML 1.2 core schema only: yes/no/on/off (YAML 1.1) are refused, not guessed.
  static constexpr std::array<std::pair<std::string_view, bool>, 6> k_booleans{{
      {"true", true},
      {"True", true},
      {"TRUE", true},
      {"false", false},
      {"False", false},
      {"FALSE", false},
  }};
  const auto text = scalar_text(e, "true or false");
  if (!text) return std::nullopt;
  for (const auto& [word, value] : k_booleans) {
    if (word == *text) return value;
  }
  value_error(e, "expected true or false, got " + quote(*text));
  return std::nullopt;
}

template <typename T>
std::optional<T> YamlReader::parsed_scalar(const Entry& e, std::string_view expected,
                                           Result<T, std::string> (*parse)(std::string_view)) {
  const auto text = scalar_text(e, expected);
  if (!text) return std::nullopt;
  auto parsed = parse(*text);
  if (parsed) return std::move(*parsed);
  value_error(e, parsed.error());
  return std::nullopt;
}

std::optional<Duration> YamlReader::duration(const Entry& e) {
  return parsed_scalar(e, "a duration (e.g. 500ms, 90s, 15m, 1h30m)", parse_duration);
}

std::optional<ByteSize> YamlReader::byte_size(const Entry& e) {
  return parsed_scalar(e, "a memory size (e.g. 512MiB, 2GiB)", parse_byte_size);
}

std::vector<YAML::Node> YamlReader::scalars(const Entry& e) {
  visit();
  if (e.value.IsScalar()) return {e.value};
  if (!e.value.IsSequence()) {
    value_error(e, "expected a value or a list of values, got " + describe(e.value));
    return {};
  }
  if (e.value.size() == 0) {
    value_error(e, "an empty list matches nothing; omit '" + e.key + "' to match anything");
    return {};
  }
  std::vector<YAML::Node> out;
  for (auto it = e.value.begin(); it != e.value.end(); ++it) {
    visit();
    const YAML::Node element = *it;
    if (element.IsScalar()) {
      out.push_back(element);
    } else {
      value_error(e, "expected a value in the list, got " + describe(element), &element);
    }
  }
  return out;
}

std::vector<YAML::Node> YamlReader::list(const Entry& e, std::string_view expected) {
  visit();
  if (e.value.IsNull()) return {};
  if (!e.value.IsSequence()) {
    value_error(e, "expected " + std::string(expected) + ", got " + describe(e.value));
    return {};
  }
  std::vector<YAML::Node> out;
  for (auto it = e.value.begin(); it != e.value.end(); ++it) {
    visit();
    out.push_back(*it);
  }
  return out;
}

}  // namespace jobwarden::policy::detail
