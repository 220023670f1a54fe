# cmake/web_vendor_copy.cmake: run by the web_vendor target (cmake/web.cmake) with
# -DNODE_MODULES=<dir> -DDEST=<dir> -DFILES="src=name|src=name|...". Copies each allow-listed
# file, and removes anything else from DEST so nothing stale is ever served.
cmake_minimum_required(VERSION 3.25) # script mode: IN_LIST and file(COPY_FILE)
if(NOT EXISTS "${NODE_MODULES}")
  message(FATAL_ERROR "web: ${NODE_MODULES} is missing. The page's vendor files (preact, htm, "
                      "lightweight-charts) come from npm: run `npm ci` in the repository root "
                      "(tools/setup.sh does), or configure with -DLUATRADE_WEB=OFF.")
endif()
string(REPLACE "|" ";" _files "${FILES}")
file(MAKE_DIRECTORY "${DEST}")
set(_keep "")
foreach(pair IN LISTS _files)
  string(REPLACE "=" ";" _p "${pair}")
  list(GET _p 0 _src)
  list(GET _p 1 _name)
  if(NOT EXISTS "${NODE_MODULES}/${_src}")
    message(FATAL_ERROR "web: ${NODE_MODULES}/${_src} is missing (package.json changed? run `npm ci`)")
  endif()
  file(COPY_FILE "${NODE_MODULES}/${_src}" "${DEST}/${_name}" ONLY_IF_DIFFERENT)
  list(APPEND _keep "${_name}")
endforeach()
file(GLOB _present RELATIVE "${DEST}" "${DEST}/*")
foreach(f IN LISTS _present)
  if(NOT f IN_LIST _keep)
    file(REMOVE_RECURSE "${DEST}/${f}")
  endif()
endforeach()
