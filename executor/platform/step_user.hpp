#pragma once
// The admin's `run_as` user: resolved in the user database before anything
// runs, and the privileged side of running steps as that user.

#include <string>

#include "executor/core/process_runner.hpp"
#include "executor/core/result.hpp"

namespace jobwarden::platform {

// Resolves a user name, or a numeric uid, through the user database (NSS:
// /etc/passwd, LDAP, ...): uid, primary gid, every supplementary group,
// home directory. Errors say which user and why ("no such user in the user
// database", "... needs jobwarden to run as root").
core::Result<core::StepUser, std::string> lookup_step_user(const std::string& name_or_uid);

// While alive, file-system permission checks of this (single-threaded)
// process are those of `user` (setfsuid/setfsgid and its groups); restored
// on destruction. Used to open repository paths with the step user's rights.
// A null user changes nothing.
class ActingAs {
 public:
  explicit ActingAs(const core::StepUser* user);
  ~ActingAs();
  ActingAs(const ActingAs&) = delete;
  ActingAs& operator=(const ActingAs&) = delete;

 private:
  const core::StepUser* m_user;
  std::vector<unsigned> m_saved_groups;
  unsigned m_saved_fsuid = 0;
  unsigned m_saved_fsgid = 0;
};

// Creates `dir` if needed (parents as root, mode 0755) and makes it the
// user's (owner uid:gid, mode 0700 unless `mode` says otherwise), without
// following a symlink at its last component. Errors: "<dir>: <why>".
core::Status<std::string> prepare_directory_for(const std::string& dir, const core::StepUser& user,
                                                unsigned mode = 0700);

// Gives an existing file to the user (fchown through O_NOFOLLOW), e.g. the
// runner's stage script, so that the step user can read and execute it.
core::Status<std::string> give_file_to(const std::string& path, const core::StepUser& user);

// Makes a directory traversable by anyone (adds o+x), e.g. the runner's job
// temporary directory, so that the step user reaches what is given to it.
core::Status<std::string> make_traversable(const std::string& dir);

// jobwarden's effective uid.
unsigned effective_uid();

}  // namespace jobwarden::platform
