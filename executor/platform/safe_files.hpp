#pragma once
// Files named by untrusted input, and the one atomic-write routine.
//
// Contract:
//  * open_beneath() resolves a relative path inside a base directory and never
//    outside it: openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) where the
//    kernel has it (symlinks that stay inside are followed; absolute symlinks,
//    "..", and symlinks that leave are refused), else a walk that opens one
//    component at a time with O_NOFOLLOW (every symlink is refused). A refusal
//    says which path and why, never what lies outside.
//  * write_file_atomically*() never leaves a half-written file under the
//    target name and never writes through a symlink: an O_CREAT|O_EXCL|
//    O_NOFOLLOW temporary file in the target's own directory, written and
//    fsync'ed, renamed over the target (a target that is a symlink or not a
//    regular file is refused), then the directory is fsync'ed. On any failure
//    (ENOSPC, EROFS, EACCES, ...) the temporary file is removed and the error
//    names the path and the reason; what was there before stays intact.
//    Callers log the error and carry on: a report that cannot be written never
//    changes a verdict.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "executor/core/result.hpp"
#include "executor/platform/fd.hpp"

namespace jobwarden::platform {

enum class BeneathMethod {
  automatic,  // openat2 when the kernel has it, else the walk
  walk,       // always the O_NOFOLLOW walk (what old kernels get; tests use it)
};

// Opens `relative` beneath the directory `base_fd` with `flags` (O_CLOEXEC is
// added). Errors: "<relative>: <why>".
core::Result<UniqueFd, std::string> open_beneath(int base_fd, const std::string& relative, int flags,
                                                 BeneathMethod method = BeneathMethod::automatic);

// Opens the directory at `path` (as written) as an O_PATH descriptor, the
// base for the *_beneath functions. Errors: "<path>: <why>".
core::Result<UniqueFd, std::string> open_directory(const std::string& path);

// open_beneath for a directory, as an O_PATH descriptor (a base for the
// *_beneath functions).
core::Result<UniqueFd, std::string> open_directory_beneath(int base_fd, const std::string& relative);

// Makes the directory `name` (a plain name: no '/') in the directory
// `base_fd` (mode 0700), or accepts the one there. mkdirat never follows a
// symlink in place of `name`, and one is refused, as is anything else not a
// directory. Errors: "<name>: <why>".
core::Status<std::string> make_directory_beneath(int base_fd, const std::string& name);

// Whether `name` exists in the directory `dir_fd` (a dangling symlink does).
bool entry_exists(int dir_fd, const std::string& name);

// Reads at most `max_bytes` of the regular file `relative` beneath the
// directory `base_fd`. A path that leaves the base, a directory or a special
// file is an error, and nothing of it is read.
core::Result<std::string, std::string> read_file_beneath(int base_fd, const std::string& relative,
                                                         std::size_t max_bytes);

// Reads at most `max_bytes` of the regular file at `path`, opened as written
// (a path the caller chose, such as one on jobwarden's command line: symlinks
// are followed). A FIFO, a device or a directory is refused before any read,
// and the open never waits (a FIFO without a writer would block it).
// Errors: "<path>: <why>".
core::Result<std::string, std::string> read_regular_file(const std::string& path, std::size_t max_bytes);

// Replaces `name` in the directory `dir_fd` (a plain file name: no '/').
// `shown` names the target in errors.
core::Status<std::string> write_file_atomically_at(int dir_fd, const std::string& name, std::string_view text,
                                                   const std::string& shown);

// Replaces the file at `path` (its directory is opened as written: a trusted
// path, such as $TMPDIR's or one given on jobwarden's command line).
core::Status<std::string> write_file_atomically(const std::string& path, std::string_view text);

// Removes what write_file_atomically*() leaves of a write of `name` in the
// directory `dir_fd` when it is killed between creating its temporary file
// and renaming it (SIGKILL, power loss): entries called
// ".<name>.jw-<16 hex digits>" that are regular files last modified at least
// `older_than` ago. Nothing else: no other name, no symlink (nor what it
// points to), no directory. Only a caller that holds the lock every writer of
// `name` takes knows that no such write is under way; the age is a second
// guard. Returns how many were removed.
int remove_stale_temporaries(int dir_fd, const std::string& name, std::chrono::seconds older_than);

// Replaces `relative` beneath the directory `base_fd` (its directory opened
// with open_beneath).
core::Status<std::string> write_file_atomically_beneath(int base_fd, const std::string& relative,
                                                        std::string_view text);

}  // namespace jobwarden::platform
