# scripts/run.sh --repo on fresh repositories (Makefile; CMake + ctest) with
# the real Claude Code and Codex (scripts/install-agent-clis.sh) against the
# scripted model server; a missing key or CLI; SIGINT and the resumed run.
# Each case starts the whole suite: a few minutes at most each.
add_executable(test_own_repo e2e/test_own_repo.c)
target_link_libraries(test_own_repo PRIVATE orch_testsupport)
orch_cases(test_own_repo e2e/test_own_repo.c LABELS agents TIMEOUT 300 ENVIRONMENT ${ORCH_TEST_ENV})
