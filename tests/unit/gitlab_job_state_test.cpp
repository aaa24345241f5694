// The GitLab job's state file (executor/io/gitlab_job.*): its recorded
// cgroups survive the round trip, and entries a job could have forged into
// an impossible shape are dropped (cleanup validates the rest).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "executor/io/gitlab_job.hpp"
#include "tests/support/temp_dir.hpp"

using namespace jobwarden;

TEST_CASE("the job state keeps the cgroups each gitlab run recorded") {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.file("jobwarden"));
  io::GitlabJobState state = io::new_job_state(1700000000.25, "42");
  state.cgroups.push_back({1234, "/sys/fs/cgroup/unified/ci", "/sys/fs/cgroup/memory/ci"});
  state.cgroups.push_back({5678, "/sys/fs/cgroup/ci", ""});
  std::ofstream(io::job_state_path(dir.path())) << io::render_job_state(state);
  const auto loaded = io::load_job_state(dir.path());
  REQUIRE(loaded);
  CHECK(loaded->cookie == state.cookie);
  REQUIRE(loaded->cgroups.size() == 2);
  CHECK(loaded->cgroups[0].pid == 1234);
  CHECK(loaded->cgroups[0].v2_parent == "/sys/fs/cgroup/unified/ci");
  CHECK(loaded->cgroups[0].v1_memory_parent == "/sys/fs/cgroup/memory/ci");
  CHECK(loaded->cgroups[1].pid == 5678);
  CHECK(loaded->cgroups[1].v1_memory_parent.empty());
}

TEST_CASE("recorded cgroups of an impossible shape are dropped, the rest of the state kept") {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.file("jobwarden"));
  std::ofstream(io::job_state_path(dir.path()))
      << R"({"started_unix": 1, "cookie": "c", "cgroups": [{"pid": -1, "v2_parent": "/x"}, {"pid": 99999999999, "v2_parent": "/x"},)"
         R"( {"pid": "7", "v2_parent": "/x"}, {"pid": 7}, {"pid": 7, "v2_parent": ["/x"]}, 3, {"pid": 8, "v2_parent": "/ok"}]})";
  const auto loaded = io::load_job_state(dir.path());
  REQUIRE(loaded);
  CHECK(loaded->cookie == "c");
  REQUIRE(loaded->cgroups.size() == 1);
  CHECK(loaded->cgroups[0].pid == 8);
  CHECK(loaded->cgroups[0].v2_parent == "/ok");
}
