# Compiler settings shared by every target of ours, as INTERFACE targets so
# that flags stay target-scoped (nothing is added to CMAKE_CXX_FLAGS).

add_library(jobwarden_warnings INTERFACE)
target_compile_options(jobwarden_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
  -Wimplicit-fallthrough
  $<$<BOOL:${JOBWARDEN_WERROR}>:-Werror>
  # GCC 12 at -O3 warns about std::string concatenation it inlined itself
  # (-Wrestrict false positive, GCC bug 105329).
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)

add_library(jobwarden_settings INTERFACE)
target_include_directories(jobwarden_settings INTERFACE ${PROJECT_SOURCE_DIR})
target_compile_definitions(jobwarden_settings INTERFACE
  JOBWARDEN_VERSION="${PROJECT_VERSION}")
# Each function and object in a section of its own, so that the executable's
# link drops what nothing calls (--gc-sections, executor/CMakeLists.txt).
target_compile_options(jobwarden_settings INTERFACE -ffunction-sections -fdata-sections)
if(JOBWARDEN_SANITIZE)
  target_compile_options(jobwarden_settings INTERFACE
    -fsanitize=${JOBWARDEN_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(jobwarden_settings INTERFACE -fsanitize=${JOBWARDEN_SANITIZE})
endif()
target_link_libraries(jobwarden_settings INTERFACE jobwarden_warnings)
