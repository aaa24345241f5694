#include "executor/cli/policy_source.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace jobwarden::cli {
namespace {

// Reads at most one byte more than the loader accepts, so an oversized file
// is reported by the loader instead of being read whole.
bool read_capped(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.resize(policy::k_max_policy_bytes + 1);
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<std::size_t>(in.gcount()));
  return !in.bad();
}

}  // namespace

PolicySource load_policy_source(const std::string& explicit_path) {
  PolicySource src;
  std::error_code ec;
  if (!explicit_path.empty()) {
    src.path = explicit_path;
  } else if (std::filesystem::is_regular_file(k_policy_file_name, ec)) {
    src.path = k_policy_file_name;
  }
  if (src.path.empty()) return embedded_policy_source();
  if (std::filesystem::is_directory(src.path, ec) || !read_capped(src.path, src.text)) {
    src.loaded.errors.push_back({src.path, 0, 0, "cannot read the policy file"});
    return src;
  }
  src.loaded = policy::load_policy(src.text, src.path);
  return src;
}

PolicySource embedded_policy_source() {
  PolicySource src;
  src.text = std::string(policy::embedded_default_policy_yaml());
  src.loaded = policy::load_policy(src.text, "embedded default");
  return src;
}

}  // namespace jobwarden::cli
