# cmake/web.cmake: the web page's npm files (DESIGN.md §1: preact, htm, lightweight-charts,
# installed by `npm ci` from the committed package-lock.json) copied into
# ${CMAKE_BINARY_DIR}/www/vendor, where the host serves them as /vendor/NAME. Only the
# files on the allow-list below are copied, under flat names ending in .js (the page's
# import map in web/index.html names them). The copy runs on every build (copy if
# different: cheap) and fails with a clear message when node_modules is missing.
option(LUATRADE_WEB "Copy the web page's npm files into build/www/vendor" ON)

if(LUATRADE_WEB)
  # source under node_modules/ = name under www/vendor/
  set(WEB_VENDOR_FILES
      "preact/dist/preact.mjs=preact.js"
      "preact/hooks/dist/hooks.mjs=preact-hooks.js"
      "htm/dist/htm.mjs=htm.js"
      "lightweight-charts/dist/lightweight-charts.standalone.production.mjs=lightweight-charts.js")
  set(WEB_VENDOR_DIR ${CMAKE_BINARY_DIR}/www/vendor)
  string(REPLACE ";" "|" _web_files "${WEB_VENDOR_FILES}")
  add_custom_target(web_vendor ALL
    COMMAND ${CMAKE_COMMAND} -DNODE_MODULES=${CMAKE_SOURCE_DIR}/node_modules
            -DDEST=${WEB_VENDOR_DIR} "-DFILES=${_web_files}"
            -P ${CMAKE_SOURCE_DIR}/cmake/web_vendor_copy.cmake
    COMMENT "Copying the web page's vendor files into ${WEB_VENDOR_DIR}"
    VERBATIM)
endif()
