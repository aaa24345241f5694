#include "executor/cli/step_execution.hpp"

#include <cstdlib>
#include <iostream>
#include <random>

#include "executor/core/ci_dialect.hpp"
#include "executor/platform/linux_process_runner.hpp"
#include "executor/platform/step_user.hpp"
#include "executor/platform/system_clock.hpp"

namespace jobwarden::cli {

namespace {

// features.cgroup: required, and no cgroup: nothing starts; the host is at fault.
core::StepResult refuse_without_cgroup(const std::string& why, core::JobLog& log) {
  core::StepResult r;
  r.action = policy::Action::system_failure;
  r.reason = why;
  r.step_exit_code = 1;
  r.exit_code = log.dialect().exit_code(r.action, r.step_exit_code);
  log.verdict(r.action, "verdict: system_failure: not started: " + why + "; " +
                            log.dialect().describe_exit(r.action, r.step_exit_code));
  return r;
}

}  // namespace

std::optional<core::StepResult> execute_step(
    const core::StepRequest& request, const policy::Policy& policy, const policy::AdminConfig& admin,
    core::JobLog& log, const std::function<void(const platform::LeafPlacement&)>& on_leaf_placement) {
  platform::RunnerOptions runner_options;
  runner_options.subreaper = request.settings.tree_kill;
  runner_options.cgroup = admin.cgroup;
  runner_options.cgroup_parent = admin.cgroup_parent;
  runner_options.no_new_privileges = admin.no_new_privileges;
  auto runner = platform::LinuxProcessRunner::create(runner_options);
  if (!runner && admin.cgroup == policy::CgroupMode::required &&
      runner.error().rfind("features.cgroup is required", 0) == 0) {
    return refuse_without_cgroup(runner.error(), log);
  }
  if (!runner) {
    log.warn("internal fault: " + runner.error());
    return std::nullopt;
  }
  log.info("containment: " + (*runner)->containment_description());
  if (const auto placement = (*runner)->leaf_placement(); placement && on_leaf_placement) on_leaf_placement(*placement);
  if (request.spawn.memory_limit_bytes) {
    log.info("memory limit: " + policy::format_byte_size(*request.spawn.memory_limit_bytes) + " per attempt");
  }
  if (request.spawn.memory_limit_bytes && !(*runner)->memory_limits_enforced()) {
    log.warn("the memory limit is not enforced and OOM kills are not detected: no memory cgroup for the step");
  }
  // The backoff's jitter, seeded when a retry first needs it (the decision
  // asks for a sample only then): most steps never retry, and
  // std::random_device costs a CPUID probe (a trap to the hypervisor on a VM)
  // and a getrandom call.
  std::optional<std::mt19937_64> rng;
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  platform::SystemClock clock;
  core::StepRunner step_runner(**runner, clock, log, [&] {
    if (!rng) rng.emplace(std::random_device{}());
    return uniform(*rng);
  });
  // jobwarden's own lines keep their place among the step's output: what the
  // step wrote before a line is relayed before it.
  platform::LinuxProcessRunner& relay = **runner;
  log.set_before_write([&relay] { relay.relay_pending(); });
  struct Unhook {
    core::JobLog& log;
    ~Unhook() { log.set_before_write(nullptr); }
  } unhook{log};
  return step_runner.run(request, policy);
}

std::optional<unsigned long long> memory_limit_or_log(const policy::AdminConfig& admin,
                                                      const policy::StepSettings& settings, const std::string& step,
                                                      core::JobLog& log) {
  std::string clamped;
  const auto limit = policy::memory_limit(admin, settings.memory, step, clamped);
  if (!clamped.empty()) log.warn(clamped);
  return limit;
}

KillSwitches kill_switches_from_env() {
  KillSwitches k;
  const auto read = [](const char* name, FeatureSwitch& sw) {
    sw.enabled = env_switch_on(name);
    if (!sw.enabled) sw.disabled_by = std::string(name) + "=0";
  };
  read("JOBWARDEN_TREE_KILL", k.tree_kill);
  read("JOBWARDEN_STARVATION", k.starvation);
  read("JOBWARDEN_RETRY", k.retry);
  return k;
}

KillSwitches kill_switches(const policy::AdminConfig& admin) {
  KillSwitches k = kill_switches_from_env();
  const auto admin_off = [&](bool admin_on, FeatureSwitch& sw) {
    if (!admin_on) sw = {false, "admin configuration " + admin.source};
  };
  admin_off(admin.tree_kill && admin.subreaper, k.tree_kill);
  admin_off(admin.starvation, k.starvation);
  admin_off(admin.retry, k.retry);
  return k;
}

void set_attempt_settings(core::StepRequest& request, const policy::StepSettings& settings,
                          const DurationOverrides& overrides, const policy::AdminConfig& admin,
                          const KillSwitches& switches, core::JobLog& log) {
  core::AttemptSettings& a = request.settings;
  a.timeout = overrides.timeout.value_or(settings.timeout);
  a.grace = overrides.grace.value_or(settings.grace);
  for (const auto& [what, value] : {std::pair<const char*, policy::Duration*>{"timeout", &a.timeout},
                                    std::pair<const char*, policy::Duration*>{"grace", &a.grace}}) {
    if (const std::string line = policy::clamp_duration(admin, what, *value); !line.empty()) log.warn(line);
  }
  a.starvation = settings.starvation;
  a.tree_kill = switches.tree_kill.enabled;
  a.starvation_enabled = switches.starvation.enabled;
  request.retries_enabled = switches.retry.enabled;
  request.spawn.memory_limit_bytes = memory_limit_or_log(admin, settings, request.step, log);
}

std::optional<policy::AdminConfig> load_admin_or_report(const std::string& path) {
  const auto loaded = policy::load_admin_config_file(path.empty() ? policy::k_default_admin_config_path : path);
  if (loaded.ok()) return loaded.config;
  for (const auto& e : loaded.errors) std::cerr << "jobwarden: admin configuration: " << e.to_string() << "\n";
  return std::nullopt;
}

core::Result<std::optional<core::StepUser>, std::string> resolve_run_as(const policy::AdminConfig& admin) {
  if (admin.run_as.empty()) return std::optional<core::StepUser>{};
  auto user = platform::lookup_step_user(admin.run_as);
  if (!user) return core::unexpected(user.error() + " (run_as in " + admin.source + ")");
  return std::optional<core::StepUser>(std::move(*user));
}

void run_spawn_as(core::SpawnRequest& spawn, const core::StepUser& user) {
  spawn.user = user;
  for (const std::string& entry : {"HOME=" + user.home, "USER=" + user.name, "LOGNAME=" + user.name}) {
    spawn.extra_env.push_back(entry);
  }
}

void announce_kill_switches(const KillSwitches& k, core::JobLog& log) {
  if (!k.tree_kill.enabled) {
    log.warn("tree kill is OFF (" + k.tree_kill.disabled_by + "): only the step's main process is "
             "signalled and whatever it leaves behind keeps running");
  }
  if (!k.starvation.enabled) log.warn("starvation detection is OFF (" + k.starvation.disabled_by + ")");
  if (!k.retry.enabled) log.warn("retries are OFF (" + k.retry.disabled_by + "): a rule's `then` applies at once");
}

std::optional<std::string> env_lookup(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::nullopt : std::optional<std::string>(v);
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v == nullptr ? fallback : std::string(v);
}

bool env_switch_on(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return true;
  const std::string s(v);
  return !(s == "0" || s == "false" || s == "off" || s == "no");
}

}  // namespace jobwarden::cli
