# Decisions of people (issue 30: pause, cancel, re-prioritise): the pure
# core in scheduler_core, its NATS side in the daemon, the commands in
# orchctl. Included from the top-level CMakeLists.txt.
target_sources(scheduler_core PRIVATE services/scheduler/sched_people.c)
if(EXISTS ${CMAKE_SOURCE_DIR}/services/scheduler/people_nats.c)
  target_sources(orch-scheduler PRIVATE services/scheduler/people_nats.c)
endif()
if(EXISTS ${CMAKE_SOURCE_DIR}/tools/orchctl/people.c)
  target_sources(orchctl PRIVATE tools/orchctl/people.c)
endif()
