#include "executor/platform/libcurl.hpp"

#include <dlfcn.h>

namespace jobwarden::platform {
namespace {

// One entry of the table: where the pointer goes and the symbol's name.
template <typename Fn>
bool resolve(void* library, const char* name, Fn& slot, std::string& missing) {
  // dlsym returns the address as void*; POSIX guarantees that it converts to
  // a function pointer of the symbol's type.
  void* address = ::dlsym(library, name);
  if (address == nullptr) {
    missing = name;
    return false;
  }
  slot = reinterpret_cast<Fn>(address);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
  return true;
}

core::Result<LibCurl, std::string> load() {
  // RTLD_LOCAL: libcurl's symbols stay out of the global namespace.
  void* library = ::dlopen(k_libcurl_soname, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = ::dlerror();
    return core::unexpected("libcurl could not be loaded: " + std::string(why != nullptr ? why : k_libcurl_soname));
  }
  LibCurl api;
  std::string missing;
  const bool complete = resolve(library, "curl_global_init", api.global_init, missing) &&
                        resolve(library, "curl_global_cleanup", api.global_cleanup, missing) &&
                        resolve(library, "curl_easy_init", api.easy_init, missing) &&
                        resolve(library, "curl_easy_cleanup", api.easy_cleanup, missing) &&
                        resolve(library, "curl_easy_reset", api.easy_reset, missing) &&
                        resolve(library, "curl_easy_setopt", api.easy_setopt, missing) &&
                        resolve(library, "curl_easy_perform", api.easy_perform, missing) &&
                        resolve(library, "curl_easy_getinfo", api.easy_getinfo, missing) &&
                        resolve(library, "curl_easy_strerror", api.easy_strerror, missing) &&
                        resolve(library, "curl_slist_append", api.slist_append, missing) &&
                        resolve(library, "curl_slist_free_all", api.slist_free_all, missing);
  if (!complete) {  // a libcurl.so.4 that is not libcurl: left mapped, like a good one
    return core::unexpected("libcurl could not be loaded: " + std::string(k_libcurl_soname) + " lacks " + missing);
  }
  return api;  // the library stays loaded for the life of the process
}

}  // namespace

core::Result<const LibCurl*, std::string> libcurl() {
  static const core::Result<LibCurl, std::string> k_loaded = load();  // thread-safe, once
  if (!k_loaded) return core::unexpected(k_loaded.error());
  return &*k_loaded;
}

}  // namespace jobwarden::platform
