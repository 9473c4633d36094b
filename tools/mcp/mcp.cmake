# orch-mcp (docs/mcp.md): the pure core (JSON-RPC, the lifecycle, the
# tools' arguments and results; orchctl's roadmap words from roadmap.c) as
# its own library, which the unit test links; the NATS adapter and main.c
# make the program. Included by the top-level CMakeLists.txt.
add_library(mcp_core STATIC tools/mcp/mcp.c tools/mcp/mcp_tools.c tools/orchctl/roadmap.c)
target_include_directories(mcp_core PUBLIC ${CMAKE_SOURCE_DIR}/tools/mcp ${CMAKE_SOURCE_DIR}/tools/orchctl)
target_link_libraries(mcp_core PUBLIC orch_common_core)

add_executable(orch-mcp tools/mcp/main.c tools/mcp/mcp_nats.c)
target_link_libraries(orch-mcp PRIVATE mcp_core orch_common)
