# The pool of agent hosts: placement and the loss rule (unit), and a hub
# with leaf-node agent hosts (integration).
orch_unit(test_pool scheduler_core)
orch_integration(test_hosts)
# the scheduler core's side of a loss, with the recording sched_out
orch_unit(test_sched_hosts test_sched_harness)
