// A shared object that tells when a process loads it: its constructor
// appends the loading process's name (/proc/self/comm) to the file named by
// JOBWARDEN_TEST_LOADED_MARKER. The e2e tests put it where a job's
// OPENSSL_CONF, OPENSSL_MODULES or OPENSSL_ENGINES would have OpenSSL load a
// provider or engine from, to show that jobwarden never loads it.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

namespace {

__attribute__((constructor)) void note_loaded() {
  const char* marker = std::getenv("JOBWARDEN_TEST_LOADED_MARKER");
  if (marker == nullptr) return;
  char name[64];
  ssize_t n = 0;
  if (const int comm = ::open("/proc/self/comm", O_RDONLY | O_CLOEXEC); comm >= 0) {
    n = ::read(comm, name, sizeof name);
    ::close(comm);
  }
  const int out = ::open(marker, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) return;
  if (n > 0) (void)!::write(out, name, static_cast<std::size_t>(n));
  ::close(out);
}

}  // namespace
