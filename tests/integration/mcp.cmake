# orch-mcp's tests (docs/mcp.md); included by tests/CMakeLists.txt.
# test_mcp_core: the pure core. test_mcp: the official MCP TypeScript SDK's
# client (var/npm-mcp, scripts/bootstrap.sh --test) driving orch-mcp over
# stdio against a real nats-server and the real daemons.
orch_unit(test_mcp_core mcp_core)
orch_integration(test_mcp)
add_dependencies(test_mcp orch-mcp)
