# Every third-party library comes from a Debian package through find_package
# (or pkg-config where the package ships no CMake config) and is used through
# a small wrapper target named jobwarden::dep_<name>. Nothing is vendored and
# nothing is downloaded at build time.

find_package(yaml-cpp REQUIRED)
add_library(jobwarden_dep_yaml INTERFACE)
if(TARGET yaml-cpp::yaml-cpp)          # yaml-cpp >= 0.8
  target_link_libraries(jobwarden_dep_yaml INTERFACE yaml-cpp::yaml-cpp)
else()                                 # yaml-cpp 0.7 (Debian 12) exports plain `yaml-cpp`
  target_link_libraries(jobwarden_dep_yaml INTERFACE yaml-cpp)
endif()

find_package(nlohmann_json 3.10 REQUIRED)
add_library(jobwarden_dep_json INTERFACE)
target_link_libraries(jobwarden_dep_json INTERFACE nlohmann_json::nlohmann_json)

find_package(CURL REQUIRED)
add_library(jobwarden_dep_curl INTERFACE)
target_link_libraries(jobwarden_dep_curl INTERFACE CURL::libcurl)

find_package(CLI11 REQUIRED)
add_library(jobwarden_dep_cli11 INTERFACE)
target_link_libraries(jobwarden_dep_cli11 INTERFACE CLI11::CLI11)

# Debian 12's libre2-dev ships only a pkg-config file.
find_package(PkgConfig REQUIRED)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
add_library(jobwarden_dep_re2 INTERFACE)
target_link_libraries(jobwarden_dep_re2 INTERFACE PkgConfig::RE2)

if(JOBWARDEN_BUILD_TESTS)
  find_package(doctest REQUIRED)
  add_library(jobwarden_dep_doctest INTERFACE)
  target_link_libraries(jobwarden_dep_doctest INTERFACE doctest::doctest)
endif()
