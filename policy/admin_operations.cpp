// The `metrics`, `alerts` and `secrets` sections of the admin configuration.
// URLs are checked without ever being echoed: a webhook URL usually carries
// its token, and an error message ends up in job logs.

#include "policy/admin_operations.hpp"

#include <algorithm>
#include <array>

namespace jobwarden::policy::detail {
namespace {

constexpr std::size_t k_max_url_length = 2048;

// An http:// or https:// URL without blanks or control characters. The
// value is never put into the message.
std::optional<std::string> url(YamlReader& r, const Entry& e) {
  const auto text = r.string(e);
  if (!text) return std::nullopt;
  const bool scheme = text->rfind("http://", 0) == 0 || text->rfind("https://", 0) == 0;
  const bool clean = std::none_of(text->begin(), text->end(), [](char c) {
    return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
  });
  if (!scheme || !clean || text->size() > k_max_url_length) {
    r.value_error(e, "expected an http:// or https:// URL without blanks, at most 2048 bytes "
                     "(the value is not shown: it may carry a token)");
    return std::nullopt;
  }
  return text;
}

// A timeout for network calls: at least 100ms, at most 1 minute.
std::optional<Duration> network_timeout(YamlReader& r, const Entry& e) {
  const auto d = r.duration(e);
  if (!d) return std::nullopt;
  if (*d < Duration{100} || *d > Duration{60'000}) {
    r.value_error(e, "expected a duration from 100ms to 1m, got " + describe(e.value));
    return std::nullopt;
  }
  return d;
}

// --- metrics ----------------------------------------------------------------

void read_textfile_dir(YamlReader& r, const Entry& e, MetricsConfig& m) {
  if (auto p = absolute_path(r, e)) m.textfile_dir = *p;
}
void read_pushgateway(YamlReader& r, const Entry& e, MetricsConfig& m) {
  if (auto u = url(r, e)) m.pushgateway = *u;
}
void read_job(YamlReader& r, const Entry& e, MetricsConfig& m) {
  const auto text = r.string(e);
  if (!text) return;
  if (text->empty() || text->size() > 64) {
    r.value_error(e, "expected a job name of 1 to 64 bytes, got " + describe(e.value));
    return;
  }
  m.job = *text;
}
void read_connect_timeout(YamlReader& r, const Entry& e, MetricsConfig& m) {
  if (auto d = network_timeout(r, e)) m.connect_timeout = *d;
}
void read_push_timeout(YamlReader& r, const Entry& e, MetricsConfig& m) {
  if (auto d = network_timeout(r, e)) m.timeout = *d;
}
void read_max_label_values(YamlReader& r, const Entry& e, MetricsConfig& m) {
  if (auto n = r.integer(e, 1, 1000)) m.max_label_values = static_cast<int>(*n);
}
void read_push_proxy(YamlReader& r, const Entry& e, MetricsConfig& m) {
  if (auto u = url(r, e)) m.proxy = *u;
}

constexpr std::array<Field<MetricsConfig>, 7> k_metrics_fields{{
    {"textfile_dir", read_textfile_dir},
    {"pushgateway", read_pushgateway},
    {"job", read_job},
    {"connect_timeout", read_connect_timeout},
    {"timeout", read_push_timeout},
    {"max_label_values", read_max_label_values},
    {"proxy", read_push_proxy},
}};

// --- alerts -----------------------------------------------------------------

void read_webhook(YamlReader& r, const Entry& e, AlertsConfig& a) {
  if (auto u = url(r, e)) a.webhook = *u;
}
void read_alert_timeout(YamlReader& r, const Entry& e, AlertsConfig& a) {
  if (auto d = network_timeout(r, e)) a.timeout = *d;
}
void read_alert_proxy(YamlReader& r, const Entry& e, AlertsConfig& a) {
  if (auto u = url(r, e)) a.proxy = *u;
}

constexpr std::array<std::string_view, 2> k_alert_events{"exhausted", "system_failure"};

void read_alert_on(YamlReader& r, const Entry& e, AlertsConfig& a) {
  a.on_exhausted = a.on_system_failure = false;  // a list names every event wanted
  for (const YAML::Node& el : r.list(e, "a list of events (exhausted, system_failure)")) {
    const std::string word = el.IsScalar() ? el.Scalar() : "";
    if (word == "exhausted") {
      a.on_exhausted = true;
    } else if (word == "system_failure") {
      a.on_system_failure = true;
    } else {
      r.value_error(e, "expected one of " + join(k_alert_events) + ", got " + describe(el) +
                           did_you_mean(word, k_alert_events), &el);
    }
  }
}

constexpr std::array<Field<AlertsConfig>, 4> k_alerts_fields{{
    {"webhook", read_webhook},
    {"timeout", read_alert_timeout},
    {"on", read_alert_on},
    {"proxy", read_alert_proxy},
}};

// --- secrets ----------------------------------------------------------------

bool variable_name(const std::string& s) {
  if (s.empty() || s.size() > 255 || (s.front() >= '0' && s.front() <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

void read_secret_variables(YamlReader& r, const Entry& e, AdminConfig& c) {
  for (const YAML::Node& el : r.list(e, "a list of variable names")) {
    if (el.IsScalar() && variable_name(el.Scalar())) {
      c.secret_variables.push_back(el.Scalar());
    } else {
      r.value_error(e, "expected a variable name ([A-Za-z_][A-Za-z0-9_]*), got " + describe(el), &el);
    }
  }
}

constexpr std::array<Field<AdminConfig>, 1> k_secrets_fields{{
    {"variables", read_secret_variables},
}};

}  // namespace

std::optional<std::string> absolute_path(YamlReader& r, const Entry& e) {
  const auto text = r.string(e);
  if (!text) return std::nullopt;
  if (text->empty() || text->front() != '/') {
    r.value_error(e, "expected an absolute path (starting with '/'), got " + describe(e.value));
    return std::nullopt;
  }
  return text;
}

void read_metrics_section(YamlReader& r, const Entry& e, AdminConfig& c) {
  read_fields(r, e.value, k_metrics_fields, e.child_where(), c.metrics_config);
}
void read_alerts_section(YamlReader& r, const Entry& e, AdminConfig& c) {
  read_fields(r, e.value, k_alerts_fields, e.child_where(), c.alerts);
}
void read_secrets_section(YamlReader& r, const Entry& e, AdminConfig& c) {
  read_fields(r, e.value, k_secrets_fields, e.child_where(), c);
}

}  // namespace jobwarden::policy::detail
