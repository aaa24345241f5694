#include "executor/platform/http_client.hpp"

#include "executor/platform/libcurl.hpp"

namespace jobwarden::platform {

namespace {

constexpr std::size_t k_max_body = 1 << 20;

std::size_t collect(char* data, std::size_t size, std::size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  const std::size_t n = size * count;
  if (body->size() < k_max_body) body->append(data, std::min(n, k_max_body - body->size()));
  return n;
}

// What went wrong, in words that never include the URL.
std::string describe(const LibCurl& curl, CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT: return "timed out";
    case CURLE_COULDNT_CONNECT: return "connection refused or unreachable";
    case CURLE_COULDNT_RESOLVE_HOST: return "host name not resolved";
    case CURLE_TOO_MANY_REDIRECTS: return "too many redirects";
    case CURLE_UNSUPPORTED_PROTOCOL: return "redirected to a protocol other than http/https";
    case CURLE_PEER_FAILED_VERIFICATION: return "TLS certificate not trusted";
    default: return curl.easy_strerror(code);  // static texts: no URL in them
  }
}

// The request's header lines plus "Expect:", which turns off libcurl's
// Expect: 100-continue for bodies over 1 KiB (a second of waiting with
// receivers that ignore it). Freed by the destructor.
class HeaderList {
 public:
  explicit HeaderList(const LibCurl& curl) : m_curl(curl) {}
  ~HeaderList() { m_curl.slist_free_all(m_list); }
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;
  bool append(const std::string& line) {
    curl_slist* grown = m_curl.slist_append(m_list, line.c_str());
    if (grown == nullptr) return false;
    m_list = grown;
    return true;
  }
  curl_slist* get() const { return m_list; }

 private:
  const LibCurl& m_curl;
  curl_slist* m_list = nullptr;
};

}  // namespace

struct HttpClient::Handle {
  const LibCurl* curl = nullptr;  // null when libcurl could not be loaded: `unusable` says why
  CURL* easy = nullptr;
  std::string unusable;
};

HttpClient::HttpClient() : m_handle(std::make_unique<Handle>()) {
  auto loaded = libcurl();
  if (!loaded) {
    m_handle->unusable = loaded.error();
    return;
  }
  const LibCurl& curl = **loaded;
  if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    m_handle->unusable = "libcurl could not be initialised";
    return;
  }
  m_handle->curl = &curl;
  m_handle->easy = curl.easy_init();
  if (m_handle->easy == nullptr) m_handle->unusable = "libcurl could not be initialised";
}

HttpClient::~HttpClient() {
  if (m_handle->curl == nullptr) return;
  if (m_handle->easy != nullptr) m_handle->curl->easy_cleanup(m_handle->easy);
  m_handle->curl->global_cleanup();
}

core::Result<HttpResponse, std::string> HttpClient::send(const HttpRequest& request) {
  if (m_handle->easy == nullptr) return core::unexpected(m_handle->unusable);
  const LibCurl& curl = *m_handle->curl;
  CURL* c = m_handle->easy;
  curl.easy_reset(c);
  HeaderList headers(curl);
  for (const std::string& h : request.headers) {
    if (!headers.append(h)) return core::unexpected(std::string("out of memory"));
  }
  if (!headers.append("Expect:")) return core::unexpected(std::string("out of memory"));
  // Only http and https, redirects included. Checked: with a libcurl older
  // than 7.85 these options do not exist and every protocol would be spoken.
  if (curl.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
      curl.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK) {
    return core::unexpected(std::string("libcurl 7.85 or later is needed (CURLOPT_PROTOCOLS_STR)"));
  }
  HttpResponse response;
  curl.easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl.easy_setopt(c, CURLOPT_FOLLOWLOCATION, request.max_redirects > 0 ? 1L : 0L);
  curl.easy_setopt(c, CURLOPT_MAXREDIRS, request.max_redirects);
  curl.easy_setopt(c, CURLOPT_POSTREDIR, static_cast<long>(CURL_REDIR_POST_ALL));
  curl.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
  curl.easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl.easy_setopt(c, CURLOPT_USERAGENT, "jobwarden");
  // "" is "no proxy, whatever the environment says"; with the admin's proxy,
  // NOPROXY "" keeps a no_proxy variable from bypassing it (HttpRequest::proxy).
  curl.easy_setopt(c, CURLOPT_PROXY, request.proxy.c_str());
  curl.easy_setopt(c, CURLOPT_NOPROXY, "");
  curl.easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl.easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl.easy_setopt(c, CURLOPT_WRITEDATA, &response.body);
  if (request.method == "GET") {
    curl.easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    curl.easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
    curl.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    if (request.method != "POST") curl.easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  const CURLcode code = curl.easy_perform(c);
  if (code != CURLE_OK) return core::unexpected(describe(curl, code));
  curl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

core::Result<HttpResponse, std::string> HttpClient::send_expecting_success(const HttpRequest& request) {
  auto response = send(request);
  if (response && (response->status < 200 || response->status > 299)) {
    return core::unexpected("HTTP " + std::to_string(response->status));
  }
  return response;
}

}  // namespace jobwarden::platform
