# HelpDocs.cmake (script mode): writes a program's --help as a text document, for `cmake --install`
# (share/doc/paychan/). With SUBCOMMANDS, also every command listed under "Commands:" in the help
# followed by its own `--help` (the paychan CLI).
#   cmake -DPROGRAM=path -DOUTPUT=file [-DSUBCOMMANDS=ON] -P HelpDocs.cmake
execute_process(COMMAND ${PROGRAM} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} --help failed (${rc})")
endif()
set(text "${help}")
if(SUBCOMMANDS)
  string(REGEX MATCH "Commands:\n(  [^\n]*\n)+" block "${help}")
  string(REGEX MATCHALL "\n  [a-z]+( [a-z]+)?" words "${block}")
  foreach(w ${words})
    string(STRIP "${w}" w)
    separate_arguments(args UNIX_COMMAND "${w}")
    execute_process(COMMAND ${PROGRAM} ${args} --help OUTPUT_VARIABLE sub RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "${PROGRAM} ${w} --help failed (${rc})")
    endif()
    string(APPEND text "\n---- paychan ${w} ----\n${sub}")
  endforeach()
endif()
file(WRITE "${OUTPUT}" "${text}")
