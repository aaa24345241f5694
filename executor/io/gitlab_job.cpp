#include "executor/io/gitlab_job.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>


namespace jobwarden::io {
namespace {

std::string state_path(const std::string& tmpdir) { return tmpdir + "/jobwarden/state.json"; }

std::optional<nlohmann::json> read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);  // no exceptions: discarded on error
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

std::string random_hex() {
  std::mt19937_64 rng(std::random_device{}());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

std::optional<GitlabJobState> load_job_state(const std::string& tmpdir) {
  auto j = read_json_file(state_path(tmpdir));
  if (!j || !(*j)["started_unix"].is_number() || !(*j)["cookie"].is_string()) return std::nullopt;
  GitlabJobState state{(*j)["started_unix"].get<double>(), (*j)["cookie"].get<std::string>(), {}};
  const auto cgroups = (*j)["cgroups"];
  if (!cgroups.is_array()) return state;
  for (const auto& c : cgroups) {  // malformed entries are skipped: cleanup validates the rest
    if (!c.is_object() || !c.contains("pid") || !c.at("pid").is_number_integer() || !c.contains("v2_parent") ||
        !c.at("v2_parent").is_string()) {
      continue;
    }
    const long long pid = c.at("pid").get<long long>();
    if (pid <= 0 || pid > 0x3fffffff) continue;  // beyond any pid_max
    const auto v1 = c.contains("v1_memory_parent") && c.at("v1_memory_parent").is_string()
                        ? c.at("v1_memory_parent").get<std::string>()
                        : std::string();
    state.cgroups.push_back({static_cast<int>(pid), c.at("v2_parent").get<std::string>(), v1});
  }
  return state;
}

std::string job_state_path(const std::string& tmpdir) { return state_path(tmpdir); }

GitlabJobState new_job_state(double now_unix, const std::string& job_id) {
  return {now_unix, "jobwarden-" + (job_id.empty() ? std::string("job") : job_id) + "-" + random_hex(), {}};
}

std::string render_job_state(const GitlabJobState& state) {
  nlohmann::json j = {{"started_unix", state.started_unix}, {"cookie", state.cookie}};
  if (!state.cgroups.empty()) {
    j["cgroups"] = nlohmann::json::array();
    for (const auto& c : state.cgroups) {
      j["cgroups"].push_back({{"pid", c.pid}, {"v2_parent", c.v2_parent}, {"v1_memory_parent", c.v1_memory_parent}});
    }
  }
  return j.dump() + "\n";
}

std::optional<JobResponse> read_job_response(const std::string& path) {
  auto j = read_json_file(path);
  if (!j) return std::nullopt;
  JobResponse r;
  const auto id = (*j)["id"];
  if (id.is_number_integer()) r.job_id = std::to_string(id.get<long long>());
  if (id.is_string()) r.job_id = id.get<std::string>();
  const auto info = (*j)["runner_info"];
  if (info.is_object() && info.contains("timeout") && info.at("timeout").is_number_integer()) {
    r.timeout_seconds = info.at("timeout").get<long long>();
  }
  const auto variables = (*j)["variables"];
  if (variables.is_array()) {
    for (const auto& v : variables) {
      const bool masked = v.is_object() && v.contains("masked") && v.at("masked") == true;
      if (masked && v.contains("value") && v.at("value").is_string()) {
        r.masked_values.push_back(v.at("value").get<std::string>());
      }
    }
  }
  return r;
}

}  // namespace jobwarden::io

namespace jobwarden::io {

std::string render_config_output(const std::string& builds_dir, const std::string& cache_dir,
                                 bool builds_dir_is_shared, const std::string& hostname,
                                 const std::string& version) {
  nlohmann::ordered_json j = {
      {"builds_dir", builds_dir},
      {"cache_dir", cache_dir},
      {"builds_dir_is_shared", builds_dir_is_shared},
      {"hostname", hostname},
      {"driver", {{"name", "jobwarden"}, {"version", version}}},
  };
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace jobwarden::io
