#include "executor/io/http_client.hpp"

#include <curl/curl.h>

namespace jobwarden::io {

namespace {

constexpr std::size_t k_max_body = 1 << 20;

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct ListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
using HeaderList = std::unique_ptr<curl_slist, ListDeleter>;

std::size_t collect(char* data, std::size_t size, std::size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  const std::size_t n = size * count;
  if (body->size() < k_max_body) body->append(data, std::min(n, k_max_body - body->size()));
  return n;
}

// What went wrong, in words that never include the URL.
std::string describe(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT: return "timed out";
    case CURLE_COULDNT_CONNECT: return "connection refused or unreachable";
    case CURLE_COULDNT_RESOLVE_HOST: return "host name not resolved";
    case CURLE_TOO_MANY_REDIRECTS: return "too many redirects";
    case CURLE_UNSUPPORTED_PROTOCOL: return "redirected to a protocol other than http/https";
    case CURLE_PEER_FAILED_VERIFICATION: return "TLS certificate not trusted";
    default: return curl_easy_strerror(code);  // static texts: no URL in them
  }
}

}  // namespace

struct HttpClient::Handle {
  Easy easy;
};

HttpClient::HttpClient() : m_handle(std::make_unique<Handle>()) {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) m_handle->easy.reset(curl_easy_init());
}

HttpClient::~HttpClient() {
  const bool initialised = m_handle->easy != nullptr;
  m_handle->easy.reset();
  if (initialised) curl_global_cleanup();
}

core::Result<HttpResponse, std::string> HttpClient::send(const HttpRequest& request) {
  CURL* c = m_handle->easy.get();
  if (c == nullptr) return core::unexpected(std::string("libcurl could not be initialised"));
  curl_easy_reset(c);
  HeaderList headers;
  // "Expect:" turns off libcurl's Expect: 100-continue for bodies over 1 KiB,
  // which would cost a second of waiting with receivers that ignore it.
  std::vector<std::string> lines = request.headers;
  lines.emplace_back("Expect:");
  for (const std::string& h : lines) {
    curl_slist* grown = curl_slist_append(headers.get(), h.c_str());
    if (grown == nullptr) return core::unexpected(std::string("out of memory"));
    (void)headers.release();
    headers.reset(grown);
  }
  HttpResponse response;
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, request.max_redirects > 0 ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, request.max_redirects);
  curl_easy_setopt(c, CURLOPT_POSTREDIR, static_cast<long>(CURL_REDIR_POST_ALL));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "jobwarden");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response.body);
  if (request.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    if (request.method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  const CURLcode code = curl_easy_perform(c);
  if (code != CURLE_OK) return core::unexpected(describe(code));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

core::Result<HttpResponse, std::string> HttpClient::send_expecting_success(const HttpRequest& request) {
  auto response = send(request);
  if (response && (response->status < 200 || response->status > 299)) {
    return core::unexpected("HTTP " + std::to_string(response->status));
  }
  return response;
}

}  // namespace jobwarden::io
