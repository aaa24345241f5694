#pragma once
// The one HTTP client of jobwarden (the only libcurl user): bounded, quiet,
// and careful with URLs that carry tokens. libcurl is loaded by the first
// HttpClient of the process (libcurl.hpp says why), not at start.
//
// Contract:
//  * Every call is bounded: `connect_timeout` for the connection, `timeout`
//    for the whole exchange (redirects included). Nothing is retried.
//  * HTTPS verifies the peer and the host name against the system CA store.
//    Only http and https are spoken, redirects included; at most
//    `max_redirects` are followed, and a POST stays a POST across them.
//  * Goes through `HttpRequest::proxy` or straight to the server: the proxy
//    variables of the environment are ignored.
//  * Errors never contain the URL (it often carries a token): they say what
//    failed ("timed out", "connection refused", "HTTP 500").
//  * No signals (CURLOPT_NOSIGNAL), no global state left behind: libcurl's
//    global initialisation is reference-counted by HttpClient instances.
//  * Without a usable libcurl (not installed, older than 7.85) every send()
//    is an error that says so; nothing else changes.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "executor/core/result.hpp"

namespace jobwarden::platform {

struct HttpRequest {
  std::string method = "POST";  // GET, POST, PUT, DELETE
  std::string url;
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds timeout{2000};
  long max_redirects = 3;
  // The proxy to go through ("http://host:port", from the admin
  // configuration), or "" for none. Never the environment's http_proxy,
  // https_proxy, all_proxy or no_proxy: `jobwarden run` inside a job has the
  // job's environment, and a proxy the job names would receive the push or
  // the alert, tokens included.
  std::string proxy;
};

struct HttpResponse {
  long status = 0;
  std::string body;  // at most 1 MiB is kept
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // The response whatever its status; an error only when no response came.
  core::Result<HttpResponse, std::string> send(const HttpRequest& request);
  // send(), and any status outside 2xx is an error ("HTTP 500").
  core::Result<HttpResponse, std::string> send_expecting_success(const HttpRequest& request);

 private:
  struct Handle;
  std::unique_ptr<Handle> m_handle;
};

}  // namespace jobwarden::platform
