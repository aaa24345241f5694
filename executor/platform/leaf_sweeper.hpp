#pragma once
// `gitlab cleanup` by recorded cgroup paths (docs/gitlab.md, "Cleanup"):
// kills and removes the cgroup leaves a `gitlab run` left when it was
// SIGKILLed together with its guardian. The record comes from the job's
// state file, which a job running with the runner's rights can rewrite: it is
// untrusted. Only leaves found by us, in the directory where we would make
// leaves ourselves, named exactly "jobwarden-<pid>-<attempt>", and whose
// jobwarden no longer runs, are touched.

#include <string>
#include <vector>

#include "executor/core/clock.hpp"
#include "executor/core/process_runner.hpp"
#include "executor/platform/containment.hpp"

namespace jobwarden::platform {

struct LeafSweep {
  std::vector<core::ProcessInfo> killed;     // members found in the leaves, SIGKILLed
  std::vector<core::ProcessInfo> survivors;  // still there after `kill_wait`
  std::vector<std::string> removed;          // leaves (v2 and v1 memory) removed
  std::string refused;                       // why the record was refused ("" = accepted)
};

// The leaves of `recorded_pid` under `recorded_v2_parent`, accepted only when
// that is `ours.v2_parent`; the v1 memory cgroups of the same names under
// `ours.v1_memory_parent` go too.
LeafSweep sweep_recorded_leaves(const LeafPlacement& ours, int recorded_pid, const std::string& recorded_v2_parent,
                                core::Millis kill_wait);

}  // namespace jobwarden::platform
