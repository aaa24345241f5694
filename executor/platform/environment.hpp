#pragma once
// jobwarden's environment, and the one its children get.
//
// Under `jobwarden run` in a job, jobwarden's environment is the job's.
// (The dynamic loader's LD_PRELOAD, LD_LIBRARY_PATH and LD_AUDIT act at
// exec and on the dlopen of libcurl, before or beyond anything done here:
// docs/policy.md says the CI must not hand a job's to jobwarden.) The
// step and the CI's helpers (buildkite-agent annotate) must get it exactly as
// the CI gave it; jobwarden's own HTTP client (the Pushgateway push and the
// alert, to endpoints of the trusted admin configuration) must not be steered
// by it. glibc's resolver reads variables from the environment of the process
// that resolves: HOSTALIASES (a file mapping a host name to another),
// LOCALDOMAIN (the search list) and RES_OPTIONS (ndots and the like), the
// three with which a job could make the alert receiver's name resolve
// elsewhere and so suppress an alert about itself, and RESOLV_HOST_CONF (the
// host.conf to read) — the resolver variables glibc itself ignores in setuid
// programs. libcurl reads SSLKEYLOGFILE and would write the TLS session keys
// of the webhook's connection (whose URL holds a token) to a file the job
// names. OpenSSL (libcurl's TLS, loaded with it) reads, in the process that
// loads it:
//  * OPENSSL_CONF, the configuration file, read when libcurl initialises
//    OpenSSL: a job's file can load a provider or engine module of its own
//    into jobwarden (code run as jobwarden's user, often root);
//  * OPENSSL_MODULES and OPENSSL_ENGINES, the directories a provider or an
//    engine named without a path is loaded from: read when the admin's own
//    openssl.cnf names one (the legacy provider, padlock), they would load
//    the job's file of that name instead;
//  * OPENSSL_ia32cap, the CPU features OpenSSL believes it has, read when
//    libcrypto is loaded: a job's value can claim instructions the CPU lacks
//    and kill jobwarden with SIGILL in the alert's TLS handshake.
// GnuTLS is not libcurl's TLS here, but libcurl.so.4 brings it (through
// librtmp and libldap) and its constructor reads, when libcurl is loaded,
// GNUTLS_SYSTEM_PRIORITY_FILE: a job's /dev/zero or FIFO there keeps
// jobwarden reading forever before the first push or alert, the verdict
// never given. (The other variables GnuTLS, nettle and p11-kit read then,
// GNUTLS_CPUID_OVERRIDE and NETTLE_FAT_OVERRIDE included, only touch code
// that libcurl's OpenSSL build never runs, or debug output.)
// SSL_CERT_FILE and SSL_CERT_DIR are not read: Debian's libcurl hands
// OpenSSL the CA bundle and directory it was built with
// (/etc/ssl/certs/ca-certificates.crt, /etc/ssl/certs), and OpenSSL reads
// those two variables only for its default paths, which libcurl never asks
// for (the e2e test guards this: a job's SSL_CERT_FILE=/dev/null changes
// nothing). Nor does libcurl read CURL_CA_BUNDLE (the curl tool does).
//
// So main() keeps a copy of the environment for the children and then removes
// those variables from jobwarden's own (drop_client_steering_variables),
// before any thread exists, before anything resolves a name and before
// libcurl (and with it OpenSSL) is loaded.

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace jobwarden::platform {

// The variables removed from jobwarden's own environment (never from a child's).
inline constexpr std::array<std::string_view, 10> k_client_steering_variables{
    "HOSTALIASES",     "LOCALDOMAIN",     "RES_OPTIONS",     "RESOLV_HOST_CONF",
    "SSLKEYLOGFILE",   "OPENSSL_CONF",    "OPENSSL_MODULES", "OPENSSL_ENGINES",
    "OPENSSL_ia32cap", "GNUTLS_SYSTEM_PRIORITY_FILE"};

// The environment children get ("NAME=VALUE" entries in their order): the
// copy drop_client_steering_variables kept, or, in a process that never
// called it (the platform tests), the environment as it is now. What spawn
// and run_with_input hand to children.
std::vector<std::string> children_environment();

// Keeps a copy of the environment for children_environment, then unsets
// k_client_steering_variables in jobwarden's own. Call it once, while
// jobwarden has one thread (unsetenv races with getenv in another thread);
// nothing may change the environment afterwards (the copy would not see it).
void drop_client_steering_variables();

}  // namespace jobwarden::platform
