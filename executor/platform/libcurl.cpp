#include "executor/platform/libcurl.hpp"

#include <dlfcn.h>

#include <type_traits>

namespace jobwarden::platform {
namespace {

// The address of `name` in `library` as the header's function type, or the
// name when the library lacks it.
template <typename Fn>
core::Result<Fn, std::string> symbol(void* library, const char* name) {
  // dlsym returns the address as void*; POSIX guarantees that it converts to
  // a function pointer of the symbol's type.
  void* address = ::dlsym(library, name);
  if (address == nullptr) return core::unexpected(std::string(name));
  return reinterpret_cast<Fn>(address);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
}

// The table, or the name of the first symbol `library` lacks.
core::Result<LibCurl, std::string> resolve_table(void* library) {
  LibCurl api;
  core::Status<std::string> complete = core::Ok{};
  const auto entry = [&](auto& slot, const char* name) {
    if (!complete) return;  // the first missing name is the one reported
    auto found = symbol<std::remove_reference_t<decltype(slot)>>(library, name);
    if (found) {
      slot = *found;
    } else {
      complete = core::unexpected(found.error());
    }
  };
  entry(api.global_init, "curl_global_init");
  entry(api.global_cleanup, "curl_global_cleanup");
  entry(api.easy_init, "curl_easy_init");
  entry(api.easy_cleanup, "curl_easy_cleanup");
  entry(api.easy_reset, "curl_easy_reset");
  entry(api.easy_setopt, "curl_easy_setopt");
  entry(api.easy_perform, "curl_easy_perform");
  entry(api.easy_getinfo, "curl_easy_getinfo");
  entry(api.easy_strerror, "curl_easy_strerror");
  entry(api.slist_append, "curl_slist_append");
  entry(api.slist_free_all, "curl_slist_free_all");
  if (!complete) return core::unexpected(complete.error());
  return api;
}

core::Result<LibCurl, std::string> load() {
  // RTLD_LOCAL: libcurl's symbols stay out of the global namespace.
  void* library = ::dlopen(k_libcurl_soname, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = ::dlerror();
    return core::unexpected("libcurl could not be loaded: " + std::string(why != nullptr ? why : k_libcurl_soname));
  }
  auto api = resolve_table(library);
  if (!api) {  // a libcurl.so.4 that is not libcurl: left mapped, like a good one
    return core::unexpected("libcurl could not be loaded: " + std::string(k_libcurl_soname) + " lacks " + api.error());
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
