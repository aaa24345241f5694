#pragma once
// Removal of leaves jobwarden did not make itself (HACKING.md, "Who owns a
// leaf"): a leaf is touched only while we hold its lock (claim_unowned_leaf:
// its maker and the maker's guardian are gone, in whatever pid namespace
// they lived). Leaves of jobwardens older than the lock were never locked;
// for them each sweep keeps its old pid rule as well, so nothing is removed
// that an older jobwarden would have kept.
//
// `gitlab cleanup` by recorded cgroup paths (docs/gitlab.md, "Cleanup"):
// kills and removes the cgroup leaves a `gitlab run` left when it was
// SIGKILLed together with its guardian. The record comes from the job's
// state file, which a job running with the runner's rights can rewrite: it is
// untrusted. Only leaves found by us, in the directory where we would make
// leaves ourselves, named "jobwarden-<pid>-<attempt>" (or "...-<attempt>.<k>"),
// unowned, and whose pid is not a running jobwarden here, are touched.

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
  std::vector<std::string> owned;            // leaves left alone: their jobwarden or its guardian still holds them
  std::string refused;                       // why the record was refused ("" = accepted)
};

// The empty leaves of jobwardens that are gone, under the v2 parent and, on
// hybrid hosts, their v1 memory twins under `v1_memory_parent` ("" = none):
// "jobwarden-PID-..." and "jobwarden-probe-PID" (older jobwardens' probes),
// each removed while claimed, and only when PID does not exist in our pid
// namespace either (the older rule). A v1 cgroup without a v2 twin (only
// older jobwardens left those) goes by the older rule alone. Populated
// leaves are left to their guardian or to `gitlab cleanup`.
void sweep_stale_leaves(const std::string& v2_parent, const std::string& v1_memory_parent);

// The leaves of `recorded_pid` under `recorded_v2_parent`, accepted only when
// that is `ours.v2_parent`; the v1 memory cgroups of the same names under
// `ours.v1_memory_parent` go too.
LeafSweep sweep_recorded_leaves(const LeafPlacement& ours, int recorded_pid, const std::string& recorded_v2_parent,
                                core::Millis kill_wait);

}  // namespace jobwarden::platform
