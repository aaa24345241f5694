// The GitLab job's state file (executor/io/gitlab_job.*): its recorded
// cgroups survive the round trip, and a state a job could have forged into
// an impossible shape is refused whole (a cookie that is not ours) or in part
// (cgroup entries; cleanup validates the rest).
#include <doctest/doctest.h>

#include "executor/io/gitlab_job.hpp"

using namespace jobwarden;

TEST_CASE("the job state keeps the cgroups each gitlab run recorded") {
  io::GitlabJobState state = io::new_job_state(1700000000.25, "42");
  state.cgroups.push_back({1234, "/sys/fs/cgroup/unified/ci", "/sys/fs/cgroup/memory/ci"});
  state.cgroups.push_back({5678, "/sys/fs/cgroup/ci", ""});
  const auto loaded = io::parse_job_state(io::render_job_state(state));
  REQUIRE(loaded);
  CHECK(loaded->started_unix == 1700000000.25);
  CHECK(loaded->cookie == state.cookie);
  REQUIRE(loaded->cgroups.size() == 2);
  CHECK(loaded->cgroups[0].pid == 1234);
  CHECK(loaded->cgroups[0].v2_parent == "/sys/fs/cgroup/unified/ci");
  CHECK(loaded->cgroups[0].v1_memory_parent == "/sys/fs/cgroup/memory/ci");
  CHECK(loaded->cgroups[1].pid == 5678);
  CHECK(loaded->cgroups[1].v1_memory_parent.empty());
}

TEST_CASE("recorded cgroups of an impossible shape are dropped, the rest of the state kept") {
  const auto loaded = io::parse_job_state(
      R"({"started_unix": 1, "cookie": "jobwarden-7-0123456789abcdef", "cgroups": [{"pid": -1, "v2_parent": "/x"},)"
      R"( {"pid": 99999999999, "v2_parent": "/x"}, {"pid": "7", "v2_parent": "/x"}, {"pid": 7},)"
      R"( {"pid": 7, "v2_parent": ["/x"]}, 3, {"pid": 8, "v2_parent": "/ok"}]})");
  REQUIRE(loaded);
  CHECK(loaded->cookie == "jobwarden-7-0123456789abcdef");
  REQUIRE(loaded->cgroups.size() == 1);
  CHECK(loaded->cgroups[0].pid == 8);
  CHECK(loaded->cgroups[0].v2_parent == "/ok");
}

TEST_CASE("a state whose cookie or start is not what jobwarden writes is no state") {
  // The cookie selects the processes cleanup kills by their environment: a
  // job must not widen it ("PATH=..." style values, empty, another shape).
  for (const char* cookie : {"", "c", "PATH", "jobwarden-7-0123456789abcdeg", "jobwarden-7-0123456789ABCDEF",
                             "jobwarden-7=x-0123456789abcdef", "jobwarden-7 0123456789abcdef", "x-7-0123456789abcdef"}) {
    CAPTURE(cookie);
    const std::string text = std::string(R"({"started_unix": 1700000000, "cookie": ")") + cookie + "\"}";
    CHECK_FALSE(io::parse_job_state(text));
  }
  for (const char* start : {"0", "-5", "1e999", "\"1700000000\"", "null"}) {
    CAPTURE(start);
    const std::string text = std::string(R"({"started_unix": )") + start + R"(, "cookie": "jobwarden-7-0123456789abcdef"})";
    CHECK_FALSE(io::parse_job_state(text));
  }
  CHECK_FALSE(io::parse_job_state("not json"));
  CHECK_FALSE(io::parse_job_state("[1, 2]"));
  CHECK(io::parse_job_state(R"({"started_unix": 1700000000, "cookie": "jobwarden-7-0123456789abcdef"})"));
}

TEST_CASE("a job id of any text still makes a cookie the state accepts back") {
  for (const char* id : {"", "123", "job with spaces", "a=b;c", "\xff\n", "0123456789012345678901234567890123456789012345678901234567890123456789"}) {
    CAPTURE(id);
    const io::GitlabJobState state = io::new_job_state(1700000000.5, id);
    const auto loaded = io::parse_job_state(io::render_job_state(state));
    REQUIRE(loaded);
    CHECK(loaded->cookie == state.cookie);
  }
}
