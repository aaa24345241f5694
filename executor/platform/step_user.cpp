#include "executor/platform/step_user.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <grp.h>
#include <pwd.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "executor/platform/fd.hpp"

namespace jobwarden::platform {
namespace {

std::optional<uid_t> numeric_uid(const std::string& text) {
  unsigned long v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v >= 0xFFFFFFFFUL) return std::nullopt;
  return static_cast<uid_t>(v);
}

core::Unexpected<std::string> failure(const std::string& what, const std::string& why) {
  return core::unexpected(what + ": " + why);
}

}  // namespace

core::Result<core::StepUser, std::string> lookup_step_user(const std::string& name_or_uid) {
  const std::string what = "run_as user '" + name_or_uid + "'";
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  int err = 0;
  for (;;) {
    const auto uid = numeric_uid(name_or_uid);
    err = uid ? ::getpwuid_r(*uid, &pw, buf.data(), buf.size(), &found)
              : ::getpwnam_r(name_or_uid.c_str(), &pw, buf.data(), buf.size(), &found);
    if (err != ERANGE || buf.size() > (1U << 20)) break;
    buf.resize(buf.size() * 4);
  }
  if (found == nullptr) {
    return failure(what, err == 0 || err == ENOENT ? "no such user in the user database"
                                                  : std::string("user database: ") + std::strerror(err));
  }
  core::StepUser user{pw.pw_name, pw.pw_uid, pw.pw_gid, {}, pw.pw_dir != nullptr ? pw.pw_dir : "/"};
  int count = 64;
  std::vector<gid_t> groups;
  for (int tries = 0; tries < 4; ++tries) {
    groups.resize(static_cast<std::size_t>(count));
    if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &count) >= 0) break;
  }
  groups.resize(static_cast<std::size_t>(std::max(count, 0)));
  user.groups.assign(groups.begin(), groups.end());
  if (::geteuid() != 0 && ::geteuid() != user.uid) {
    return failure(what, "switching to uid " + std::to_string(user.uid) + " needs jobwarden to run as root");
  }
  return user;
}

ActingAs::ActingAs(const core::StepUser* user) : m_user(user) {
  if (m_user == nullptr) return;
  const int n = ::getgroups(0, nullptr);
  std::vector<gid_t> saved(static_cast<std::size_t>(std::max(n, 0)));
  if (n > 0) saved.resize(static_cast<std::size_t>(std::max(::getgroups(n, saved.data()), 0)));
  m_saved_groups.assign(saved.begin(), saved.end());
  const std::vector<gid_t> groups(m_user->groups.begin(), m_user->groups.end());
  (void)::setgroups(groups.size(), groups.data());  // single-threaded: applies to the whole process
  m_saved_fsgid = static_cast<unsigned>(::setfsgid(m_user->gid));
  m_saved_fsuid = static_cast<unsigned>(::setfsuid(m_user->uid));
}

ActingAs::~ActingAs() {
  if (m_user == nullptr) return;
  (void)::setfsuid(m_saved_fsuid);
  (void)::setfsgid(m_saved_fsgid);
  const std::vector<gid_t> groups(m_saved_groups.begin(), m_saved_groups.end());
  (void)::setgroups(groups.size(), groups.data());
}

core::Status<std::string> prepare_directory_for(const std::string& dir, const core::StepUser& user, unsigned mode) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return failure(dir, ec.message());
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return failure(dir, std::strerror(errno));
  if (::fchown(fd.get(), user.uid, user.gid) != 0 || ::fchmod(fd.get(), mode) != 0) {
    return failure(dir, std::string("cannot give it to ") + user.name + ": " + std::strerror(errno));
  }
  return core::Ok{};
}

core::Status<std::string> give_file_to(const std::string& path, const core::StepUser& user) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return failure(path, std::strerror(errno));
  if (::fchown(fd.get(), user.uid, user.gid) != 0) {
    return failure(path, std::string("cannot give it to ") + user.name + ": " + std::strerror(errno));
  }
  return core::Ok{};
}

core::Status<std::string> make_traversable(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct stat st {};
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || ::fchmod(fd.get(), (st.st_mode & 07777) | S_IXOTH) != 0) {
    return failure(dir, std::strerror(errno));
  }
  return core::Ok{};
}

unsigned effective_uid() { return ::geteuid(); }

}  // namespace jobwarden::platform
