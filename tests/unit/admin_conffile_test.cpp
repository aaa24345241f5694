// The admin configuration the Debian package installs as its conffile
// (packaging/config.yaml -> /etc/jobwarden/config.yaml) is checked with the
// loader itself, so that it cannot drift from it:
//  * as installed, it loads, and loads as exactly the built-in defaults;
//  * with every "#key:" example switched on, it still loads (the examples
//    are valid), and every key the loader accepts in each of its maps is in
//    the file. The accepted keys are the loader's own: it names them when it
//    meets an unknown key ("expected one of ..."), so a key added to the
//    loader and not to the file fails here.

#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "policy/admin_config.hpp"

using namespace jobwarden::policy;

namespace {

const std::string k_conffile = std::string(JOBWARDEN_SOURCE_DIR) + "/packaging/config.yaml";
constexpr const char* k_probe = "zz_not_a_jobwarden_key";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string all_errors(const AdminLoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.to_string() + "\n";
  return out;
}

// "  #max_timeout: 2h  # note" -> "  max_timeout: 2h  # note"; "# prose" stays.
std::string switch_examples_on(const std::string& text) {
  static const std::regex commented_key(R"(^([ \t]*)#([a-z_][a-z0-9_]*:( |$)))", std::regex::multiline);
  return std::regex_replace(text, commented_key, "$1$2");
}

// Calls `visit` on every map of the document, depth first, in file order.
void each_map(const YAML::Node& node, const std::function<void(const YAML::Node&)>& visit) {
  if (node.IsMap()) {
    visit(node);
    for (const auto& pair : node) each_map(pair.second, visit);
  } else if (node.IsSequence()) {
    for (const auto& element : node) each_map(element, visit);
  }
}

struct Probe {
  std::set<std::string> present;  // the keys the file has in this map
  std::string where;              // the loader's name for the map
  std::vector<std::string> accepted;  // the keys the loader accepts there
};

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  for (std::string word; std::getline(in, word, ',');) {
    word.erase(0, word.find_first_not_of(' '));
    out.push_back(word);
  }
  return out;
}

// Adds the probe key to the map number `index` (each_map's order) of a fresh
// copy of `text`, and reads the loader's complaint about it. nullopt when
// the loader accepts any key there (a map of names, say).
std::optional<Probe> probe_map(const std::string& text, std::size_t index) {
  YAML::Node doc = YAML::Load(text);
  Probe probe;
  std::size_t seen = 0;
  each_map(doc, [&](const YAML::Node& map) {
    if (seen++ != index) return;
    for (const auto& pair : map) probe.present.insert(pair.first.as<std::string>());
    YAML::Node writable = map;
    writable[k_probe] = "1";
  });
  YAML::Emitter out;
  out << doc;
  const AdminLoadResult r = load_admin_config(out.c_str(), "probe.yaml");
  static const std::regex complaint(std::string("unknown key '") + k_probe + "' in (.*) \\(expected one of (.*)\\)$");
  for (const auto& e : r.errors) {
    std::smatch m;
    if (std::regex_search(e.message, m, complaint)) {
      probe.where = m[1];
      probe.accepted = split_list(m[2]);
      return probe;
    }
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("the packaged admin configuration loads as the built-in defaults") {
  const AdminLoadResult r = load_admin_config(read_file(k_conffile), k_conffile);
  INFO(all_errors(r));
  REQUIRE(r.ok());
  AdminConfig defaults;
  defaults.source = k_conffile;
  CHECK(*r.config == defaults);
}

TEST_CASE("the packaged admin configuration has every key the loader accepts, and valid examples") {
  const std::string switched_on = switch_examples_on(read_file(k_conffile));
  REQUIRE(switched_on != read_file(k_conffile));  // the file has "#key:" examples to switch on
  const AdminLoadResult r = load_admin_config(switched_on, "switched-on.yaml");
  INFO(all_errors(r));
  REQUIRE(r.ok());

  std::size_t maps = 0;
  each_map(YAML::Load(switched_on), [&maps](const YAML::Node&) { ++maps; });
  std::size_t probed = 0;
  for (std::size_t i = 0; i < maps; ++i) {
    const auto probe = probe_map(switched_on, i);
    if (!probe) continue;
    ++probed;
    for (const auto& key : probe->accepted) {
      CHECK_MESSAGE(probe->present.count(key) == 1,
                    "packaging/config.yaml lacks '" << key << "' in " << probe->where
                                                    << " (write it at its default, or as a #" << key
                                                    << ": example when it has none)");
    }
  }
  // The root map at least must have answered: otherwise the loader's wording
  // changed and this test would check nothing.
  CHECK(probed >= 1);
  const auto root = probe_map(switched_on, 0);
  REQUIRE(root.has_value());
  CHECK(std::find(root->accepted.begin(), root->accepted.end(), "version") != root->accepted.end());
}
