#include "executor/cli/operations.hpp"

#include <chrono>
#include <cstdlib>

#include "executor/io/alert.hpp"
#include "executor/io/metrics.hpp"
#include "executor/platform/file_lock.hpp"
#include "executor/platform/host_facts.hpp"
#include "executor/platform/http_client.hpp"
#include "executor/platform/safe_files.hpp"
#include "policy/printable.hpp"

namespace jobwarden::cli {
namespace {

using Clock = std::chrono::steady_clock;
// Each holder reads, merges, writes and fsyncs (file and directory): a few
// milliseconds on a quiet disk, but hundreds on a host whose disk is busy with
// other jobs' builds, and concurrent jobs queue behind each other. 30 s keeps
// every increment under that (8 writers at ~1 s each), and bounds what a
// wedged holder costs the job's end.
constexpr std::chrono::milliseconds k_textfile_lock_wait{30'000};
constexpr std::size_t k_max_textfile_bytes = 64U << 20;
// A write of the textfile takes milliseconds, under the lock: a temporary file
// of it this old was left by a writer that was killed.
constexpr std::chrono::seconds k_stale_temporary_age{600};

// A CI variable as the step sees it: set directly, or as CUSTOM_ENV_<NAME>
// in the GitLab custom executor's calls.
std::string ci_env(const std::string& name) {
  const std::string direct = env_or(name.c_str());
  return direct.empty() ? env_or(("CUSTOM_ENV_" + name).c_str()) : direct;
}

io::CiJobInfo ci_job_info() {
  io::CiJobInfo j;
  if (!ci_env("CI_JOB_ID").empty()) {  // GitLab
    j = {ci_env("CI_PROJECT_PATH"), ci_env("CI_JOB_ID"), ci_env("CI_JOB_URL"), ci_env("CI_PIPELINE_URL")};
  } else if (!env_or("GITHUB_RUN_ID").empty()) {
    const std::string run = env_or("GITHUB_SERVER_URL") + "/" + env_or("GITHUB_REPOSITORY") + "/actions/runs/" +
                            env_or("GITHUB_RUN_ID");
    j = {env_or("GITHUB_REPOSITORY"), env_or("GITHUB_RUN_ID") + "-" + env_or("GITHUB_JOB"), run, run};
  } else if (!env_or("BUILDKITE_JOB_ID").empty()) {
    j = {env_or("BUILDKITE_PIPELINE_SLUG"), env_or("BUILDKITE_JOB_ID"),
         env_or("BUILDKITE_BUILD_URL") + "#" + env_or("BUILDKITE_JOB_ID"), env_or("BUILDKITE_BUILD_URL")};
  } else if (!env_or("BUILD_TAG").empty()) {  // Jenkins
    j = {env_or("JOB_NAME"), env_or("BUILD_TAG"), env_or("BUILD_URL"), env_or("BUILD_URL")};
  }
  return j;
}

std::string base64url(const std::string& in) {
  static constexpr char k_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    for (int s : {18, 12, 6, 0}) out += k_chars[(v >> s) & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += k_chars[(v >> 18) & 63];
    out += k_chars[(v >> 12) & 63];
    out += i + 1 < in.size() ? k_chars[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out.empty() ? "=" : out;  // the Pushgateway's spelling of an empty value
}

// <base>/metrics/job@base64/<job>/instance@base64/<host>[/ci_job_id@base64/<id>]/step@base64/<step>
std::string push_url(const policy::MetricsConfig& m, const std::string& host, const std::string& ci_job,
                     const std::string& step) {
  std::string url = m.pushgateway;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/metrics/job@base64/" + base64url(m.job) + "/instance@base64/" + base64url(host);
  if (!ci_job.empty()) url += "/ci_job_id@base64/" + base64url(ci_job);
  return url + "/step@base64/" + base64url(step);
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Read, merge, replace: under the lock, so concurrent jobs never lose an increment.
void update_textfile(const policy::MetricsConfig& m, const io::MetricStore& step, const core::Redactor& secrets,
                     core::JobLog& log) {
  const std::string path = m.textfile_dir + "/" + io::k_textfile_name;
  const auto lock = platform::FileLock::acquire(path + ".lock", k_textfile_lock_wait);
  if (!lock) {
    log.warn("metrics: textfile " + path + " not updated: " + lock.error().message());
    return;
  }
  // Read beneath the directory and only when a regular file: a FIFO there
  // would block us (the lock held, the exit code not yet given), a symlink
  // out of the directory is not ours to read. One byte over the cap tells a
  // file too large to merge (never truncated: its counts would be lost).
  std::string existing;
  auto dir = platform::open_directory(m.textfile_dir);
  if (dir) {
    const int stale = platform::remove_stale_temporaries(dir->get(), io::k_textfile_name, k_stale_temporary_age);
    if (stale > 0) log.info("metrics: removed " + std::to_string(stale) + " temporary files that killed writes of the textfile left");
  }
  if (dir && platform::entry_exists(dir->get(), io::k_textfile_name)) {
    auto text = platform::read_file_beneath(dir->get(), io::k_textfile_name, k_max_textfile_bytes + 1);
    if (text && text->size() > k_max_textfile_bytes) text = core::unexpected(std::string("larger than 64 MiB"));
    if (!text) {
      log.warn("metrics: textfile " + path + " not updated: " + text.error());
      return;
    }
    existing = std::move(*text);
  }
  int skipped = 0;
  io::MetricStore host = io::MetricStore::parse(existing, skipped);
  if (skipped > 0) log.warn("metrics: " + std::to_string(skipped) + " unreadable lines of " + path + " dropped");
  host.merge(step, m.max_label_values);
  if (auto w = platform::write_file_atomically(path, secrets.redact(host.render())); !w) {
    log.warn("metrics: textfile not updated: " + w.error());
  }
}

void push(const policy::MetricsConfig& m, const io::MetricStore& step, const std::string& step_label,
          const core::Redactor& secrets, core::JobLog& log) {
  platform::HttpRequest request;
  request.method = "PUT";  // replaces this step's group as a whole
  // CI_JOB_ID is the job's to set: the Pushgateway shows it as a label value
  // escaped for its format only, so control and bidi characters are escaped here.
  request.url = push_url(m, platform::host_name(), policy::printable(secrets.redact(ci_job_info().job_id)), step_label);
  request.body = secrets.redact(step.render());
  request.headers = {"Content-Type: text/plain; version=0.0.4"};
  request.connect_timeout = m.connect_timeout;
  request.timeout = m.timeout;
  request.proxy = m.proxy;
  const auto start = Clock::now();
  platform::HttpClient client;
  if (const auto sent = client.send_expecting_success(request); !sent) {
    log.warn("metrics: push to the Pushgateway failed after " + policy::format_seconds(seconds_since(start)) +
             " (" + sent.error() + "); the verdict is unchanged");
  }
}

void publish_metrics(const OperationsInput& in, const core::StepResult& result, core::JobLog& log) {
  const policy::MetricsConfig& m = in.admin->metrics_config;
  if (m.textfile_dir.empty() && m.pushgateway.empty()) return;
  const std::string step_label = io::metric_step_label(in.secrets->redact(in.step), in.step_known);
  io::MetricStore step;
  step.add_step({in.ci, step_label, &result});
  if (!m.textfile_dir.empty()) update_textfile(m, step, *in.secrets, log);
  if (!m.pushgateway.empty()) push(m, step, step_label, *in.secrets, log);
}

void send_alert(const OperationsInput& in, const core::StepResult& result, core::JobLog& log) {
  const policy::AlertsConfig& a = in.admin->alerts;
  const auto event = io::alert_event(result, a);
  if (a.webhook.empty() || !event) return;
  if (!in.alert_marker.empty()) {
    auto claimed = platform::claim_once(in.alert_marker);
    if (!claimed) {
      log.warn("alert: not sent: cannot record it for the job (" + claimed.error().message() + ")");
      return;
    }
    if (!*claimed) {
      log.info("alert: " + *event + ": already sent for this job by an earlier stage: not sent again");
      return;
    }
  }
  platform::HttpRequest request;
  request.url = a.webhook;
  request.body = in.secrets->redact(
      io::render_alert({*event, platform::host_name(), in.ci, ci_job_info(), in.step, &result}));
  request.headers = {"Content-Type: application/json"};
  request.connect_timeout = std::min(a.timeout, policy::Duration{1000});
  request.timeout = a.timeout;
  request.proxy = a.proxy;
  const auto start = Clock::now();
  platform::HttpClient client;
  const auto sent = client.send_expecting_success(request);
  const std::string took = policy::format_seconds(seconds_since(start));
  if (sent) {
    log.info("alert: " + *event + ": sent to the webhook (HTTP " + std::to_string(sent->status) + ", " + took + ")");
  } else {
    log.warn("alert: " + *event + ": the webhook failed after " + took + " (" + sent.error() +
             "); the verdict is unchanged");
  }
}

}  // namespace

OperationSwitches operation_switches(const policy::AdminConfig& admin) {
  OperationSwitches k;
  const auto read = [&](const char* name, bool admin_on, FeatureSwitch& sw) {
    if (!env_switch_on(name)) sw = {false, std::string(name) + "=0"};
    if (!admin_on) sw = {false, "admin configuration " + admin.source};
  };
  read("JOBWARDEN_METRICS", admin.metrics, k.metrics);
  read("JOBWARDEN_ALERTS", admin.webhooks, k.alerts);
  return k;
}

void announce_operation_switches(const OperationSwitches& k, core::JobLog& log) {
  if (!k.metrics.enabled) log.warn("metrics are OFF (" + k.metrics.disabled_by + "): no textfile update, no push");
  if (!k.alerts.enabled) log.warn("alerts are OFF (" + k.alerts.disabled_by + "): no webhook is called");
}

core::Redactor collect_secrets(const policy::AdminConfig& admin, const std::vector<std::string>& masked_values,
                               core::JobLog* log) {
  core::Redactor secrets;
  for (const std::string& value : masked_values) secrets.add_secret(value);
  for (const std::string& name : admin.secret_variables) {
    for (const std::string& var : {name, "CUSTOM_ENV_" + name}) {
      const std::string value = env_or(var.c_str());
      if (!value.empty() && !secrets.add_secret(value) && log != nullptr) {
        log->warn("secret variable " + name + " is shorter than " + std::to_string(core::k_min_secret_length) +
                 " characters: it cannot be masked");
      }
    }
  }
  return secrets;
}

void publish_step(const OperationsInput& in, const core::StepResult& result, core::JobLog& log) {
  if (in.switches.metrics.enabled) publish_metrics(in, result, log);
  if (in.switches.alerts.enabled) send_alert(in, result, log);
}

}  // namespace jobwarden::cli
