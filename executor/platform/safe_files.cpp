#include "executor/platform/safe_files.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

namespace jobwarden::platform {
namespace {

std::string why(int err) {
  switch (err) {
    case EXDEV:
    case ELOOP: return "it leaves the directory (a symbolic link, or '..')";
    case ENOSPC: return "no space left on the file system (ENOSPC)";
    case EDQUOT: return "disk quota exceeded (EDQUOT)";
    case EROFS: return "read-only file system (EROFS)";
    default: return std::strerror(err);
  }
}

core::Unexpected<std::string> failure(const std::string& shown, const std::string& reason) {
  return core::unexpected(shown + ": " + reason);
}

std::vector<std::string> components(const std::string& relative) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= relative.size()) {
    const std::size_t slash = relative.find('/', start);
    const std::size_t end = slash == std::string::npos ? relative.size() : slash;
    if (end > start && relative.compare(start, end - start, ".") != 0) {
      parts.push_back(relative.substr(start, end - start));
    }
    start = end + 1;
  }
  return parts;
}

// Linux < 5.6 has no openat2 (ENOSYS); seccomp filters may also say EPERM/ENOSYS.
int try_openat2(int base_fd, const std::string& relative, int flags) {
  open_how how{};
  how.flags = static_cast<unsigned long long>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    const long fd = ::syscall(SYS_openat2, base_fd, relative.c_str(), &how, sizeof how);
    if (fd >= 0 || errno != EAGAIN) return static_cast<int>(fd);  // EAGAIN: a concurrent rename; retry
  }
}

// One component at a time, none of them a symlink.
core::Result<UniqueFd, std::string> walk_beneath(int base_fd, const std::string& relative, int flags) {
  const std::vector<std::string> parts = components(relative);
  if (parts.empty()) return failure(relative, "names the directory itself, not a file in it");
  UniqueFd dir(::fcntl(base_fd, F_DUPFD_CLOEXEC, 0));
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i] == "..") return failure(relative, why(EXDEV));
    const bool last = i + 1 == parts.size();
    const int f = last ? flags | O_NOFOLLOW | O_CLOEXEC : O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    const int fd = ::openat(dir.get(), parts[i].c_str(), f);
    if (fd < 0) {
      const int err = errno;
      // O_PATH|O_NOFOLLOW on a symlink with O_DIRECTORY gives ENOTDIR; say what it is.
      struct stat st {};
      const bool link = ::fstatat(dir.get(), parts[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
      return failure(relative, link ? why(ELOOP) : why(err));
    }
    dir.reset(fd);
  }
  return dir;
}

// ".<name>.jw-": what a temporary file of `name` is called, before its
// random_suffix().
std::string temporary_prefix(const std::string& name) { return "." + name.substr(0, 64) + ".jw-"; }

bool is_temporary_of(std::string_view entry, const std::string& prefix) {
  if (entry.size() != prefix.size() + 16 || entry.substr(0, prefix.size()) != prefix) return false;
  return std::all_of(entry.begin() + static_cast<std::ptrdiff_t>(prefix.size()), entry.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string random_suffix() {
  unsigned char bytes[8] = {};
  if (::getrandom(bytes, sizeof bytes, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof bytes)) {
    const long pid = ::getpid();
    std::memcpy(bytes, &pid, sizeof pid < sizeof bytes ? sizeof pid : sizeof bytes);
  }
  char out[17];
  for (std::size_t i = 0; i < sizeof bytes; ++i) std::snprintf(out + 2 * i, 3, "%02x", bytes[i]);
  return out;
}

// Writes, flushes and closes the temporary file; the errno of the first failure, or 0.
int fill(UniqueFd& fd, std::string_view text) {
  const WriteStatus w = write_all(fd.get(), text);
  if (w != WriteStatus::ok) return errno != 0 ? errno : EIO;
  if (::fsync(fd.get()) != 0) return errno;
  const int raw = fd.release();
  if (::close(raw) != 0 && errno != EINTR) return errno;  // NFS reports late write errors here
  return 0;
}

// A target that is a symlink, a directory or a device is refused (never
// written through, never replaced); an absent one is fine.
int check_target(int dir_fd, const std::string& name) {
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? 0 : errno;
  if (S_ISLNK(st.st_mode)) return ELOOP;
  return S_ISREG(st.st_mode) ? 0 : EISDIR;
}

// At most `max_bytes` of an opened file that must be a regular one (checked
// before the first read: a FIFO or /dev/zero is never read).
core::Result<std::string, std::string> read_regular(const UniqueFd& file, const std::string& shown,
                                                    std::size_t max_bytes) {
  struct stat st {};
  if (::fstat(file.get(), &st) != 0) return failure(shown, why(errno));
  if (!S_ISREG(st.st_mode)) return failure(shown, "not a regular file");
  std::string text(max_bytes, '\0');
  std::size_t used = 0;
  while (used < text.size()) {
    const ssize_t n = ::read(file.get(), text.data() + used, text.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failure(shown, why(errno));
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  text.resize(used);
  return text;
}

}  // namespace

core::Result<UniqueFd, std::string> open_beneath(int base_fd, const std::string& relative, int flags,
                                                 BeneathMethod method) {
  if (relative.empty() || relative.front() == '/') return failure(relative, "not a relative path");
  if (method == BeneathMethod::automatic) {
    const int fd = try_openat2(base_fd, relative, flags);
    if (fd >= 0) return UniqueFd(fd);
    if (errno != ENOSYS && errno != EPERM) return failure(relative, why(errno));
  }
  return walk_beneath(base_fd, relative, flags);
}

core::Result<UniqueFd, std::string> open_directory(const std::string& path) {
  UniqueFd dir(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return failure(path, why(errno));
  return dir;
}

core::Result<UniqueFd, std::string> open_directory_beneath(int base_fd, const std::string& relative) {
  return open_beneath(base_fd, relative, O_PATH | O_DIRECTORY);
}

core::Status<std::string> make_directory_beneath(int base_fd, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    return failure(name, "not a directory name");
  }
  if (::mkdirat(base_fd, name.c_str(), 0700) == 0) return core::Ok{};
  if (errno != EEXIST) return failure(name, why(errno));
  struct stat st {};
  if (::fstatat(base_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return failure(name, why(errno));
  if (S_ISLNK(st.st_mode)) return failure(name, "is a symbolic link: not followed");
  if (!S_ISDIR(st.st_mode)) return failure(name, why(ENOTDIR));
  return core::Ok{};
}

bool entry_exists(int dir_fd, const std::string& name) {
  struct stat st {};
  return ::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

core::Result<std::string, std::string> read_file_beneath(int base_fd, const std::string& relative,
                                                         std::size_t max_bytes) {
  auto file = open_beneath(base_fd, relative, O_RDONLY | O_NOCTTY | O_NONBLOCK);
  if (!file) return core::unexpected(file.error());
  return read_regular(*file, relative, max_bytes);
}

core::Result<std::string, std::string> read_regular_file(const std::string& path, std::size_t max_bytes) {
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!file.valid()) return failure(path, why(errno));
  return read_regular(file, path, max_bytes);
}

core::Status<std::string> write_file_atomically_at(int dir_fd, const std::string& name, std::string_view text,
                                                   const std::string& shown) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    return failure(shown, "not a file name");
  }
  if (const int err = check_target(dir_fd, name); err != 0) {
    return failure(shown, err == ELOOP ? "is a symbolic link: not written through, not replaced"
                          : err == EISDIR ? "is not a regular file" : why(err));
  }
  std::string temp;
  UniqueFd fd;
  for (int tries = 0; tries < 8 && !fd.valid(); ++tries) {
    temp = temporary_prefix(name) + random_suffix();
    fd.reset(::openat(dir_fd, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!fd.valid() && errno != EEXIST) break;
  }
  if (!fd.valid()) return failure(shown, "cannot create a temporary file beside it: " + why(errno));
  int err = fill(fd, text);
  if (err == 0 && ::renameat(dir_fd, temp.c_str(), dir_fd, name.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlinkat(dir_fd, temp.c_str(), 0);
    return failure(shown, why(err));
  }
  if (::fsync(dir_fd) != 0 && errno != EINVAL) return failure(shown, "written, but the directory: " + why(errno));
  return core::Ok{};
}

core::Status<std::string> write_file_atomically(const std::string& path, std::string_view text) {
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid()) return failure(path, "its directory: " + why(errno));
  return write_file_atomically_at(dir_fd.get(), name, text, path);
}

core::Status<std::string> write_file_atomically_beneath(int base_fd, const std::string& relative,
                                                        std::string_view text) {
  const std::size_t slash = relative.rfind('/');
  const std::string name = slash == std::string::npos ? relative : relative.substr(slash + 1);
  if (relative.empty() || relative.front() == '/') return failure(relative, "not a relative path");
  auto dir = slash == std::string::npos
                 ? core::Result<UniqueFd, std::string>(UniqueFd(::openat(base_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)))
                 : open_beneath(base_fd, relative.substr(0, slash), O_RDONLY | O_DIRECTORY);
  if (!dir) return failure(relative, dir.error());
  if (!dir->valid()) return failure(relative, why(errno));
  return write_file_atomically_at(dir->get(), name, text, relative);
}

int remove_stale_temporaries(int dir_fd, const std::string& name, std::chrono::seconds older_than) {
  UniqueFd listing(::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!listing.valid()) return 0;
  DIR* dir = ::fdopendir(listing.get());
  if (dir == nullptr) return 0;
  (void)listing.release();  // closedir() closes it
  const std::string prefix = temporary_prefix(name);
  const std::time_t now = std::time(nullptr);
  int removed = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (!is_temporary_of(e->d_name, prefix)) continue;
    struct stat st {};
    if (::fstatat(::dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
    if (now - st.st_mtime < older_than.count()) continue;
    // unlinkat never follows a symlink and refuses a directory (no AT_REMOVEDIR):
    // whatever replaced the entry since the fstatat, nothing but the entry goes.
    if (::unlinkat(::dirfd(dir), e->d_name, 0) == 0) ++removed;
  }
  ::closedir(dir);
  return removed;
}

}  // namespace jobwarden::platform
