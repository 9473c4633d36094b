# Decisions of people: the core's cases (unit) and the commands through
# real subjects, a real nats-server and the real scheduler (integration).
orch_unit(test_sched_people test_sched_harness)
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_people.c)
  orch_integration(test_people)
endif()
