# The documents of a system install (what the Debian package ships): the
# manual pages and bash completion, generated at build time by
# docs/man/build.sh from README.md, docs/ and the built binary's own command
# line; the documentation and examples. One place decides what is shipped:
# debian/ only adds the conffile.

find_program(JOBWARDEN_PANDOC pandoc REQUIRED)
set(JOBWARDEN_DOCS_OUT ${PROJECT_BINARY_DIR}/documents)
file(GLOB JOBWARDEN_DOC_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md ${PROJECT_SOURCE_DIR}/docs/man/*)
add_custom_command(
  OUTPUT ${JOBWARDEN_DOCS_OUT}/jobwarden.1 ${JOBWARDEN_DOCS_OUT}/jobwarden.yml.5
         ${JOBWARDEN_DOCS_OUT}/jobwarden.bash-completion
  COMMAND ${PROJECT_SOURCE_DIR}/docs/man/build.sh $<TARGET_FILE:jobwarden> ${JOBWARDEN_DOCS_OUT}
          ${PROJECT_VERSION}
  DEPENDS jobwarden ${PROJECT_SOURCE_DIR}/README.md ${JOBWARDEN_DOC_SOURCES}
  COMMENT "Generating the manual pages and the bash completion"
  VERBATIM)
add_custom_target(jobwarden_documents ALL
  DEPENDS ${JOBWARDEN_DOCS_OUT}/jobwarden.1 ${JOBWARDEN_DOCS_OUT}/jobwarden.yml.5
          ${JOBWARDEN_DOCS_OUT}/jobwarden.bash-completion)

install(FILES ${JOBWARDEN_DOCS_OUT}/jobwarden.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${JOBWARDEN_DOCS_OUT}/jobwarden.yml.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${JOBWARDEN_DOCS_OUT}/jobwarden.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME jobwarden)
install(FILES README.md docs/report.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Examples: the example policies, and every directory under packaging/ (the
# CI integrations and deployment assets: gitlab/, systemd/, ...) as
# examples/<dir>/. The scripts at the top of packaging/ are for building.
file(GLOB JOBWARDEN_EXAMPLE_POLICIES ${PROJECT_SOURCE_DIR}/examples/*)
install(FILES ${JOBWARDEN_EXAMPLE_POLICIES} DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
file(GLOB JOBWARDEN_PACKAGING_ENTRIES LIST_DIRECTORIES true ${PROJECT_SOURCE_DIR}/packaging/*)
foreach(entry IN LISTS JOBWARDEN_PACKAGING_ENTRIES)
  if(IS_DIRECTORY ${entry})
    install(DIRECTORY ${entry} DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
  endif()
endforeach()
