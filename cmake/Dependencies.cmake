# Every third-party library comes from a Debian package through find_package
# (or pkg-config where the package ships no CMake config) and is used through
# a small wrapper target named jobwarden::dep_<name>. Nothing is vendored and
# nothing is downloaded at build time.

find_package(yaml-cpp REQUIRED)
add_library(jobwarden_dep_yaml INTERFACE)
find_library(JOBWARDEN_YAML_ARCHIVE NAMES libyaml-cpp.a)
if(JOBWARDEN_STATIC_RUNTIME AND JOBWARDEN_YAML_ARCHIVE)
  # Static, like RE2 below: dynamic relocation of libyaml-cpp cost ~1.5 ms per start.
  target_include_directories(jobwarden_dep_yaml INTERFACE ${YAML_CPP_INCLUDE_DIR})
  target_link_libraries(jobwarden_dep_yaml INTERFACE ${JOBWARDEN_YAML_ARCHIVE})
elseif(TARGET yaml-cpp::yaml-cpp)      # yaml-cpp >= 0.8
  target_link_libraries(jobwarden_dep_yaml INTERFACE yaml-cpp::yaml-cpp)
else()                                 # yaml-cpp 0.7 (Debian 12) exports plain `yaml-cpp`
  target_link_libraries(jobwarden_dep_yaml INTERFACE yaml-cpp)
endif()

find_package(nlohmann_json 3.10 REQUIRED)
add_library(jobwarden_dep_json INTERFACE)
target_link_libraries(jobwarden_dep_json INTERFACE nlohmann_json::nlohmann_json)

# libcurl: its headers only. jobwarden opens libcurl.so.4 at run time, when it
# first sends an HTTP request (executor/platform/libcurl.hpp says why).
find_package(CURL REQUIRED)
add_library(jobwarden_dep_curl_headers INTERFACE)
target_include_directories(jobwarden_dep_curl_headers INTERFACE ${CURL_INCLUDE_DIRS})

find_package(CLI11 REQUIRED)
add_library(jobwarden_dep_cli11 INTERFACE)
target_link_libraries(jobwarden_dep_cli11 INTERFACE CLI11::CLI11)

# Debian 12's libre2-dev ships only a pkg-config file.
find_package(PkgConfig REQUIRED)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
add_library(jobwarden_dep_re2 INTERFACE)
find_library(JOBWARDEN_RE2_ARCHIVE NAMES libre2.a)
if(JOBWARDEN_STATIC_RUNTIME AND JOBWARDEN_RE2_ARCHIVE)
  # Linked statically with the C++ runtime: a single binary that starts fast
  # (no dynamic relocation of libstdc++/libre2) and runs on any glibc host.
  find_package(Threads REQUIRED)
  target_include_directories(jobwarden_dep_re2 INTERFACE ${RE2_INCLUDE_DIRS})
  target_link_libraries(jobwarden_dep_re2 INTERFACE ${JOBWARDEN_RE2_ARCHIVE} Threads::Threads)
else()
  target_link_libraries(jobwarden_dep_re2 INTERFACE PkgConfig::RE2)
endif()

if(JOBWARDEN_BUILD_TESTS)
  find_package(doctest REQUIRED)
  add_library(jobwarden_dep_doctest INTERFACE)
  target_link_libraries(jobwarden_dep_doctest INTERFACE doctest::doctest)
endif()
