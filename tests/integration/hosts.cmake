# The pool of agent hosts: placement and the loss rule (unit), and a hub
# with leaf-node agent hosts (integration).
orch_unit(test_pool scheduler_core)
orch_integration(test_hosts)
