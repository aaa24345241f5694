#include "executor/core/result.hpp"

#include <cstring>

namespace jobwarden::core {

std::string SysError::message() const { return op + ": " + std::strerror(err); }

}  // namespace jobwarden::core
