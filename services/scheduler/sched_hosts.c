/* Agents gone with their host (sched_hosts.h). */
#include <string.h>

#include "sched_hosts.h"
#include "sched_int.h"

static int among(const char *instance, const char *const *instances, int n)
{
    for (int k = 0; instance && *instance && k < n; k++)
        if (!strcmp(instance, instances[k]))
            return 1;
    return 0;
}

int sched_agents_gone(sched *s, const char *const *instances, int n, const char *why, sched_holder_fn holder,
                      void *ctx, const sched_clock *now)
{
    int back = 0;
    for (int k = 0; k < n; k++)
        for (int t = 1; t < NT; t++)
            forecast_stopped(s, t, instances[k]);
    for (int i = 0; i < s->n; i++) {
        pb_state *st = s->e[i];
        char who[128] = "";
        if (!st || st->status != ST_DISPATCHED)
            continue;
        if (st->instance && *st->instance) {
            if (!among(st->instance, instances, n))
                continue;
        } else if (!holder || holder(ctx, st, who, sizeof(who)) != 0 || !among(who, instances, n)) {
            continue;
        }
        /* a new dispatch id and claim key (admit_dispatch_id): the claim the
         * lost agent made does not hold the work back */
        st->infra_retries++;
        /* no longer that agent's: a second loss naming it must not send the
         * new dispatch back before its own agent's heartbeat names it */
        pb_set_str(&st->instance, "");
        sched_send_back(s, i, why, 0, 0, now);
        back++;
    }
    return back;
}
