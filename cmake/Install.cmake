# Install.cmake: what `cmake --install` puts under the prefix, besides libpaychan (src/client):
#   bin/paychand, bin/paychan (the CLI), bin/paychan-proxy when that target exists   component programs
#   share/paychan/visualizer/  the Visualizer's files (paychand --visualizer DIR)       component visualizer
#   share/doc/paychan/         README, the --help of paychand and paychan (every command),
#                              paychand.conf.example                                    component docs
#   lib/systemd/system/paychand.service  the hardened unit (deploy/systemd)             component service
#   lib/cmake/paychan/         find_package(paychan): paychan::paychan                  component libpaychan
# Included at the end of the top CMakeLists, once every target is defined.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

foreach(program paychand paychan-cli paychan-proxy)
  if(TARGET ${program})
    install(TARGETS ${program} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT programs)
  endif()
endforeach()

# The Visualizer: its committed files and ethers' browser bundle (not committed; from node_modules,
# as visualizer/build.mjs copies it).
set(PAYCHAN_VISUALIZER_DIR ${CMAKE_INSTALL_DATADIR}/paychan/visualizer)
install(FILES visualizer/index.html DESTINATION ${PAYCHAN_VISUALIZER_DIR} COMPONENT visualizer)
install(DIRECTORY visualizer/css visualizer/js visualizer/generated
        DESTINATION ${PAYCHAN_VISUALIZER_DIR} COMPONENT visualizer)
install(FILES ${CMAKE_SOURCE_DIR}/node_modules/ethers/dist/ethers.min.js
        DESTINATION ${PAYCHAN_VISUALIZER_DIR}/vendor COMPONENT visualizer OPTIONAL)

# Documents: the README, the example configuration and the programs' --help (generated at build).
set(PAYCHAN_DOC_DIR ${CMAKE_INSTALL_DOCDIR})
install(FILES README.md docs/paychand.conf.example DESTINATION ${PAYCHAN_DOC_DIR} COMPONENT docs)
set(help_docs "")
foreach(pair "paychand;paychand;OFF" "paychan-cli;paychan;ON")
  list(GET pair 0 target)
  list(GET pair 1 name)
  list(GET pair 2 sub)
  if(TARGET ${target})
    add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/doc/${name}.txt
      COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:${target}>
              -DOUTPUT=${CMAKE_BINARY_DIR}/doc/${name}.txt -DSUBCOMMANDS=${sub}
              -P ${CMAKE_SOURCE_DIR}/cmake/HelpDocs.cmake
      DEPENDS ${target} ${CMAKE_SOURCE_DIR}/cmake/HelpDocs.cmake
      COMMENT "Writing ${name} --help to doc/${name}.txt")
    list(APPEND help_docs ${CMAKE_BINARY_DIR}/doc/${name}.txt)
  endif()
endforeach()
add_custom_target(paychan-help-docs ALL DEPENDS ${help_docs})
install(FILES ${help_docs} DESTINATION ${PAYCHAN_DOC_DIR} COMPONENT docs)

# The systemd unit, naming the installed paychand.
set(PAYCHAN_UNIT_TEMPLATE ${CMAKE_SOURCE_DIR}/deploy/systemd/paychand.service.in)
install(CODE "
  set(PAYCHAN_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
  set(PAYCHAN_DOCDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DOCDIR}\")
  configure_file(\"${PAYCHAN_UNIT_TEMPLATE}\" \"${CMAKE_BINARY_DIR}/paychand.service\" @ONLY)
  file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/systemd/system\"
       TYPE FILE FILES \"${CMAKE_BINARY_DIR}/paychand.service\")
" COMPONENT service)

# find_package(paychan): the exported libpaychan target (src/client) and its version.
set(PAYCHAN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/paychan)
install(EXPORT paychanTargets NAMESPACE paychan:: DESTINATION ${PAYCHAN_CMAKE_DIR}
        COMPONENT libpaychan)
configure_package_config_file(cmake/paychanConfig.cmake.in
  ${CMAKE_BINARY_DIR}/paychanConfig.cmake INSTALL_DESTINATION ${PAYCHAN_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/paychanConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/paychanConfig.cmake ${CMAKE_BINARY_DIR}/paychanConfigVersion.cmake
        DESTINATION ${PAYCHAN_CMAKE_DIR} COMPONENT libpaychan)
