#include "executor/cli/version.hpp"

#include "executor/platform/kernel_features.hpp"
#include "jobwarden_git_description.hpp"  // generated at every build: cmake/GitDescription.cmake

namespace jobwarden::cli {

std::string version_text() {
  const auto features = platform::probe_kernel_features();
  return std::string("jobwarden ") + JOBWARDEN_VERSION + "\nbuild: " + k_git_description +
         "\nkernel: " + platform::kernel_release() + ": " + platform::describe(features);
}

}  // namespace jobwarden::cli
