#pragma once
// Facts about the host that frame an attempt: how many CPUs a step may use
// and the host-wide CPU pressure (PSI), which is context, never decisive.

#include <optional>
#include <string>
#include <vector>

namespace jobwarden::platform {

// CPUs this process (and so the step it spawns) may run on: the affinity
// mask, lowered by a cgroup v2 cpu.max quota when one applies.
std::optional<double> usable_cpus();

// The CPUs of this process's affinity mask.
std::vector<int> affinity_cpus();

// CPU time spent busy (user, nice, system, irq, softirq, steal) on `cpus`
// since boot, from the text of /proc/stat, in seconds; empty when none of
// `cpus` is in it.
std::optional<double> busy_cpu_seconds(const std::string& proc_stat, const std::vector<int>& cpus);

// /proc/pressure/cpu "some" total in microseconds; empty without PSI.
std::optional<unsigned long long> cpu_pressure_some_us();

// Where cgroup v2 is mounted ("" when it is not), from /proc/self/mountinfo.
std::string cgroup2_mount_point();

// Whether /proc/PID/task/TID/schedstat exists (the CPU-wait evidence).
bool schedstat_available();

// This host's name ("" when unknown).
std::string host_name();

}  // namespace jobwarden::platform
