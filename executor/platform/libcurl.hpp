#pragma once
// libcurl, loaded when it is first needed rather than at every start.
//
// Why: linked normally, libcurl.so.4 pulls some thirty shared libraries
// (OpenSSL, GnuTLS, Kerberos, LDAP, SSH, nghttp2, ...) into every jobwarden
// process; mapping them, relocating them and running their initialisers was
// most of the start-up time (bench/RESULTS.md), although only the metrics
// push and the alert ever send anything. So the binary does not link it:
// `libcurl()` opens libcurl.so.4 with dlopen on first use and resolves the
// handful of functions http_client.cpp calls into a typed table. The types
// come from libcurl's own header (libcurl4-openssl-dev at build time); the
// Debian package depends on libcurl4 explicitly, since no ELF dependency
// tells dpkg-shlibdeps about it any more.
//
// Contract:
//  * Loaded at most once per process, thread-safe; never unloaded (libcurl
//    and the TLS libraries are not made to be unloaded).
//  * A missing or unusable library is an error that names the file and the
//    reason ("libcurl.so.4: cannot open shared object file: ..."); callers
//    turn it into one warning and the verdict is unchanged.

#include <curl/curl.h>

#include <string>

#include "executor/core/result.hpp"

namespace jobwarden::platform {

// The libcurl functions jobwarden calls, with the header's own signatures.
struct LibCurl {
  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_global_cleanup) global_cleanup = nullptr;
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&::curl_easy_reset) easy_reset = nullptr;
  decltype(&::curl_easy_setopt) easy_setopt = nullptr;
  decltype(&::curl_easy_perform) easy_perform = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
  decltype(&::curl_slist_append) slist_append = nullptr;
  decltype(&::curl_slist_free_all) slist_free_all = nullptr;
};

// The file dlopen is asked for: the soname of libcurl 7.16 and later.
inline constexpr const char* k_libcurl_soname = "libcurl.so.4";

// The loaded table, or why libcurl is unusable ("libcurl could not be
// loaded: <dlerror's text>"). The first call loads; later calls return the
// same answer.
core::Result<const LibCurl*, std::string> libcurl();

}  // namespace jobwarden::platform
