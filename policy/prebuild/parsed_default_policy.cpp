// prebuilt_default_policy() for a cross build that cannot run
// jw-default-policy-codegen on the build machine (policy/CMakeLists.txt):
// the same policy, parsed from the embedded text at run time (~0.2 ms more
// per start without a repository policy).
#include "policy/loader.hpp"

namespace jobwarden::policy {

Policy prebuilt_default_policy() { return embedded_default_policy(); }

}  // namespace jobwarden::policy
