# The monitor's web endpoint: the page, /metrics, health and the JSON the
# page polls. Included from the top CMakeLists.txt.
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)

# Pure: the Prometheus text and the page's views.
add_library(monitor_web_core STATIC services/monitor/metrics.c services/monitor/webview.c)
target_include_directories(monitor_web_core PUBLIC ${CMAKE_SOURCE_DIR}/services/monitor)
target_link_libraries(monitor_web_core PUBLIC monitor_core orch_common_core)

# The page, embedded: one HTML file with its script and style inline, no
# build step of its own; served from memory so the binary is all there is.
set(WEB_PAGE ${CMAKE_SOURCE_DIR}/services/monitor/web/index.html)
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/gen/web_page.c
  COMMAND ${CMAKE_COMMAND} -DIN=${WEB_PAGE} -DOUT=${CMAKE_BINARY_DIR}/gen/web_page.c
          -P ${CMAKE_SOURCE_DIR}/services/monitor/web/embed.cmake
  DEPENDS ${WEB_PAGE} ${CMAKE_SOURCE_DIR}/services/monitor/web/embed.cmake
  COMMENT "embedding the web page")
add_library(monitor_web STATIC services/monitor/web.c ${CMAKE_BINARY_DIR}/gen/web_page.c)
target_link_libraries(monitor_web PUBLIC monitor_web_core PkgConfig::MHD)

if(ORCH_TESTS)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
  add_executable(test_metrics tests/unit/test_metrics.c)
  target_link_libraries(test_metrics PRIVATE monitor_web_core PkgConfig::CMOCKA)
  orch_cases(test_metrics tests/unit/test_metrics.c LABELS unit web TIMEOUT 60
    ENVIRONMENT "ORCH_SOURCE_DIR=${CMAKE_SOURCE_DIR}")

  add_executable(test_web tests/web/test_web.c)
  target_link_libraries(test_web PRIVATE monitor_web PkgConfig::CMOCKA PkgConfig::CURL)
  orch_cases(test_web tests/web/test_web.c LABELS web TIMEOUT 120)
endif()

if(ORCH_TESTS)
  # The endpoint over a made-up world: the browser test's 5,000 case.
  add_executable(web_fake tests/web/web_fake.c)
  target_link_libraries(web_fake PRIVATE monitor_web)
endif()

if(ORCH_TESTS)
  # The page in headless Chromium (puppeteer-core in var/npm-web; Debian's
  # chromium): over 5,000 made-up requirements, and on a live suite.
  add_library(orch_webtest STATIC tests/web/webtest.c)
  target_include_directories(orch_webtest PUBLIC tests/web)
  target_link_libraries(orch_webtest PUBLIC orch_testsupport PkgConfig::CURL)
  add_executable(test_web_browser tests/web/test_web_browser.c)
  target_link_libraries(test_web_browser PRIVATE orch_webtest PkgConfig::CMOCKA)
  # one test: its group setup starts the browser over 5,000 made-up requirements
  orch_cases(test_web_browser tests/web/test_web_browser.c PER_FILE LABELS web TIMEOUT 300
    ENVIRONMENT "ORCH_BIN_DIR=${CMAKE_BINARY_DIR};ORCH_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endif()

# In the daemon: the adapter that answers the endpoint from the monitor.
target_sources(orch-monitor PRIVATE services/monitor/web_nats.c)
target_link_libraries(orch-monitor PRIVATE monitor_web)

if(ORCH_TESTS)
  add_executable(test_web_live tests/web/test_web_live.c)
  target_link_libraries(test_web_live PRIVATE orch_webtest PkgConfig::CMOCKA)
  # one test: its group setup starts the whole suite and the browser
  orch_cases(test_web_live tests/web/test_web_live.c PER_FILE LABELS web TIMEOUT 300
    ENVIRONMENT "ORCH_BIN_DIR=${CMAKE_BINARY_DIR};ORCH_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endif()
