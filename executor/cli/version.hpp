#pragma once
// `jobwarden --version`: what was built and what this host's kernel offers.

#include <string>

namespace jobwarden::cli {

// Three lines:
//   jobwarden 0.1.0
//   build: <git describe --always --dirty of the source tree, or "unknown">
//   kernel: Linux <release>: cgroup v2 at ..., PSI yes, pidfd yes, clone3 yes
std::string version_text();

}  // namespace jobwarden::cli
