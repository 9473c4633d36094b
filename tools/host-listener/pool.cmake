# The pool of agent hosts (issue 29, docs/deployment.md "A pool of agent
# hosts"): the adverts' wire format, shared by the listener, the scheduler
# and orchctl; placement and the loss rule in the scheduler's core; the
# scheduler's adapter; `orchctl hosts`.
target_sources(orch_common_core PRIVATE common/hostad.c)
target_sources(scheduler_core PRIVATE services/scheduler/pool.c services/scheduler/sched_hosts.c)
target_sources(orch-scheduler PRIVATE services/scheduler/pool_nats.c)
target_sources(orchctl PRIVATE tools/orchctl/hosts.c)
