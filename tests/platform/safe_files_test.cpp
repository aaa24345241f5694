// Repository paths beneath a base directory, and the atomic write, against
// the real file system: symlinks out, "..", absolute links, a full file
// system, a read-only one.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sched.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "executor/platform/safe_files.hpp"
#include "tests/support/temp_dir.hpp"

using namespace jobwarden;
using jobwarden::testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::size_t entries(const std::string& dir) {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}));
}

// A project with an inside file, and links out of it every way there is.
struct Project {
  TempDir outside, root;
  platform::UniqueFd fd;
  Project() {
    outside.write("secret", "root:secret-hash:19000:0:99999:7:::\n");
    fs::create_directories(root.file("sub"));
    root.write("sub/inside.yml", "version: 1\n");
    fs::create_symlink("sub/inside.yml", root.file("relative-link"));
    fs::create_symlink(outside.file("secret"), root.file("absolute-link"));
    fs::create_symlink("../" + fs::path(outside.path()).filename().string() + "/secret", root.file("dotdot-link"));
    fs::create_symlink(outside.path(), root.file("dir-link"));
    fd = std::move(*platform::open_directory(root.path()));
  }
};

}  // namespace

TEST_CASE("paths beneath a directory: inside is read, every way out is refused and nothing of it is read") {
  Project p;
  for (const auto method : {platform::BeneathMethod::automatic, platform::BeneathMethod::walk}) {
    CAPTURE(static_cast<int>(method));
    const auto read = [&](const std::string& rel) {
      auto f = platform::open_beneath(p.fd.get(), rel, O_RDONLY, method);
      return f ? std::string("opened") : f.error();
    };
    CHECK(read("sub/inside.yml") == "opened");
    CHECK(read("./sub/./inside.yml") == "opened");
    for (const char* escape : {"absolute-link", "dotdot-link", "dir-link/secret", "../x", "sub/../../x"}) {
      CAPTURE(escape);
      const std::string error = read(escape);
      CHECK(contains(error, std::string(escape) + ": "));
      CHECK_FALSE(contains(error, "secret-hash"));
    }
    CHECK(contains(read("/etc/passwd"), "not a relative path"));
    CHECK(contains(read("dir-link/secret"), "leaves the directory"));
  }
  // openat2 follows a link that stays inside; the walk refuses every link.
  CHECK(platform::open_beneath(p.fd.get(), "relative-link", O_RDONLY).ok());
  CHECK_FALSE(platform::open_beneath(p.fd.get(), "relative-link", O_RDONLY, platform::BeneathMethod::walk).ok());
  const auto text = platform::read_file_beneath(p.fd.get(), "sub/inside.yml", 100);
  REQUIRE(text.ok());
  CHECK(*text == "version: 1\n");
  CHECK(*platform::read_file_beneath(p.fd.get(), "sub/inside.yml", 4) == "vers");
  CHECK(contains(platform::read_file_beneath(p.fd.get(), "sub", 100).error(), "not a regular file"));
  CHECK_FALSE(platform::read_file_beneath(p.fd.get(), "absolute-link", 100).ok());
}

TEST_CASE("an atomic write replaces the file whole, leaves no temporary file, and never writes through a symlink") {
  Project p;
  REQUIRE(platform::write_file_atomically(p.root.file("sub/report.json"), "old\n").ok());
  REQUIRE(platform::write_file_atomically_beneath(p.fd.get(), "sub/report.json", "new\n").ok());
  CHECK(slurp(p.root.file("sub/report.json")) == "new\n");
  CHECK(entries(p.root.file("sub")) == 2);  // inside.yml and report.json: no temporary left

  // Through a symlinked directory (the "out -> /etc" attack) and onto a symlink.
  const auto via_dir = platform::write_file_atomically_beneath(p.fd.get(), "dir-link/secret", "pwned\n");
  REQUIRE_FALSE(via_dir.ok());
  CHECK(contains(via_dir.error(), "leaves the directory"));
  const auto onto_link = platform::write_file_atomically_beneath(p.fd.get(), "absolute-link", "pwned\n");
  REQUIRE_FALSE(onto_link.ok());
  CHECK(contains(onto_link.error(), "symbolic link"));
  const auto trusted_onto_link = platform::write_file_atomically(p.root.file("absolute-link"), "pwned\n");
  CHECK_FALSE(trusted_onto_link.ok());
  CHECK(slurp(p.outside.file("secret")) == "root:secret-hash:19000:0:99999:7:::\n");
  CHECK(fs::is_symlink(p.root.file("absolute-link")));
  CHECK_FALSE(platform::write_file_atomically(p.root.file("missing/r.json"), "x").ok());
  CHECK_FALSE(platform::write_file_atomically_beneath(p.fd.get(), "sub", "x").ok());  // a directory
}

TEST_CASE("a full or read-only file system is a clear error and the old file stays whole") {
  if (::geteuid() != 0) return;  // mounting a tmpfs needs root (CI runs as root)
  // A mount namespace of this test process's own (ctest runs each case in a
  // process of its own): whatever happens, the host never sees the mount.
  REQUIRE(::unshare(CLONE_NEWNS) == 0);
  REQUIRE(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0);
  TempDir mount_point;
  REQUIRE(::mount("jw-full", mount_point.path().c_str(), "tmpfs", 0, "size=64k") == 0);
  const std::string target = mount_point.file("report.json");
  REQUIRE(platform::write_file_atomically(target, "old report\n").ok());
  const auto full = platform::write_file_atomically(target, std::string(256 * 1024, 'x'));
  REQUIRE_FALSE(full.ok());
  CHECK(contains(full.error(), target + ": no space left on the file system (ENOSPC)"));
  CHECK(slurp(target) == "old report\n");
  CHECK(entries(mount_point.path()) == 1);
  REQUIRE(::mount(nullptr, mount_point.path().c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0);
  const auto read_only = platform::write_file_atomically(target, "new\n");
  REQUIRE_FALSE(read_only.ok());
  CHECK(contains(read_only.error(), "read-only file system (EROFS)"));
  CHECK(slurp(target) == "old report\n");
  CHECK(::umount2(mount_point.path().c_str(), MNT_DETACH) == 0);
}

// What makes the write atomic, observed: the new text arrives as a new file
// renamed over the old one, so a reader that opened the old file keeps
// reading the old text whole (a write in place — truncate, then write — would
// show it an empty, short or mixed file), and the name never names anything
// but one whole version.
TEST_CASE("an atomic write never changes the file a reader already has open") {
  TempDir dir;
  const std::string path = dir.file("report.json");
  const std::string old_text(256 * 1024, 'o');
  REQUIRE(platform::write_file_atomically(path, old_text).ok());
  const int reader = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(reader >= 0);
  struct stat before {};
  REQUIRE(::fstat(reader, &before) == 0);

  const std::string new_text(128 * 1024, 'n');
  REQUIRE(platform::write_file_atomically(path, new_text).ok());

  std::string seen(old_text.size() + 1, '\0');
  const ssize_t got = ::pread(reader, seen.data(), seen.size(), 0);
  ::close(reader);
  REQUIRE(got >= 0);
  seen.resize(static_cast<std::size_t>(got));
  CHECK(seen == old_text);
  struct stat after {};
  REQUIRE(::stat(path.c_str(), &after) == 0);
  CHECK(after.st_ino != before.st_ino);
  CHECK(slurp(path) == new_text);
}
