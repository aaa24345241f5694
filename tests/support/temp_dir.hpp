#pragma once
// A temporary directory for one test, removed with everything in it.

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace jobwarden::testing {

class TempDir {
 public:
  TempDir() {
    std::mt19937_64 rng(std::random_device{}());
    m_path = std::filesystem::temp_directory_path() / ("jobwarden-test-" + std::to_string(rng()));
    std::filesystem::create_directories(m_path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path() const { return m_path.string(); }
  std::string file(const std::string& name) const { return (m_path / name).string(); }
  std::string write(const std::string& name, const std::string& content) const {
    std::ofstream(file(name), std::ios::binary) << content;
    return file(name);
  }

 private:
  std::filesystem::path m_path;
};

}  // namespace jobwarden::testing
