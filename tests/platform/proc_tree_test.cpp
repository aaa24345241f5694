#include <doctest/doctest.h>

#include <unistd.h>

#include "executor/platform/proc_tree.hpp"

using namespace jobwarden::platform;

TEST_CASE("proc stat lines parse even when comm holds spaces and parentheses") {
  const auto st = parse_proc_stat("123 (my (odd) prog) S 45 67 89 0 -1 4194560");
  REQUIRE(st);
  CHECK(st->pid == 123);
  CHECK(st->comm == "my (odd) prog");
  CHECK(st->state == 'S');
  CHECK(st->ppid == 45);
  CHECK(st->pgid == 67);
  CHECK(st->sid == 89);
  CHECK_FALSE(parse_proc_stat("garbage"));
  CHECK_FALSE(parse_proc_stat("12 (x"));
}

TEST_CASE("the process scan sees this process with its parent") {
  bool found = false;
  for (const auto& p : scan_processes()) {
    if (p.pid == getpid()) {
      found = true;
      CHECK(p.ppid == getppid());
    }
  }
  CHECK(found);
}

TEST_CASE("command lines come from /proc with arguments separated by spaces") {
  const std::string cmd = command_line(getpid(), "x");
  CHECK(cmd.find("jobwarden_platform_tests") != std::string::npos);
}
