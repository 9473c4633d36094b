/* orchctl hosts: the pool of agent hosts as their adverts say it
 * (hosts.<host id>, common/hostad.h). The listeners advertise every
 * listener.advert_ms (2 s by default); this listens for --wait ms (3 s) and
 * prints each host once, its latest advert: slots used and free, agents by
 * type, instances, and how long ago it was heard. A host silent for the
 * whole wait is not listed: the scheduler's log and the host_lost alert say
 * which hosts were lost. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "hostad.h"
#include "names.h"
#include "text.h"

#define HOSTS_MAX 64

typedef struct {
    hostad ad;
    int64_t seen_ms;
} seen_host;

static int used_of(const hostad *a)
{
    int u = 0;
    for (int t = 1; t < NAMES_AGENT_TYPES; t++)
        u += a->running[t];
    return u;
}

static void print_json(const seen_host *h, int n, int64_t now)
{
    printf("[");
    for (int i = 0; i < n; i++) {
        char *j = hostad_to_json(&h[i].ad);
        size_t len = j ? strlen(j) : 0;
        if (!j)
            continue;
        /* the advert, with what this reader adds: used, free, age */
        if (len && j[len - 1] == '}')
            j[len - 1] = '\0';
        printf("%s%s,\"used\":%d,\"free\":%d,\"lastSeenMsAgo\":%lld}", i ? "," : "", j, used_of(&h[i].ad),
               h[i].ad.slots - used_of(&h[i].ad), (long long)(now - h[i].seen_ms));
        free(j);
    }
    printf("]\n");
}

static void print_table(const seen_host *h, int n, int64_t now)
{
    printf("%-24s %5s %5s %5s %9s  %s\n", "HOST", "SLOTS", "USED", "FREE", "SEEN", "AGENTS");
    for (int i = 0; i < n; i++) {
        const hostad *a = &h[i].ad;
        char agents[512] = "";
        size_t o = 0;
        for (int t = 1; t < NAMES_AGENT_TYPES && o < sizeof(agents); t++)
            if (a->running[t])
                o += (size_t)snprintf(agents + o, sizeof(agents) - o, "%s%s=%d", o ? " " : "",
                                      names_agent_type((Orchestrator__V1__AgentType)t), a->running[t]);
        printf("%-24s %5d %5d %5d %7llds  %s\n", a->host, a->slots, used_of(a), a->slots - used_of(a),
               (long long)((now - h[i].seen_ms) / 1000), o ? agents : "-");
        for (int k = 0; k < a->n_instances; k++)
            printf("%-24s %29s  %s\n", "", "", a->instances[k]);
    }
    if (!n)
        printf("no agent host advertised (hosts.*)\n");
}

int cmd_hosts(ctl *c, int argc, char **argv)
{
    long long wait_ms = 3000;
    int json = 0, n = 0, rc;
    seen_host *h = NULL;
    natsSubscription *sub = NULL;
    char subject[32];
    int64_t end;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--wait") && i + 1 < argc) {
            char *e;
            wait_ms = strtoll(argv[++i], &e, 10);
            if (*e || wait_ms < 100 || wait_ms > 600000) {
                fprintf(stderr, "orchctl: hosts: --wait takes milliseconds, 100..600000\n");
                return EXIT_USAGE;
            }
        } else
            return bad_arg("hosts", argv[i]);
    }
    if ((rc = ctl_connect(c)) != 0)
        return rc;
    h = calloc(HOSTS_MAX, sizeof(*h));
    snprintf(subject, sizeof(subject), "%s.*", NAMES_SUBJ_HOSTS);
    if (!h || natsConnection_SubscribeSync(&sub, c->nc, subject) != NATS_OK) {
        fprintf(stderr, "orchctl: hosts: subscribe %s: %s\n", subject, nats_GetLastError(NULL));
        free(h);
        return EXIT_FAIL;
    }
    end = text_mono_ms() + wait_ms;
    for (int64_t left; (left = end - text_mono_ms()) > 0;) {
        natsMsg *m = NULL;
        hostad ad;
        char err[160];
        int k;
        if (natsSubscription_NextMsg(&m, sub, left) != NATS_OK)
            break;
        if (hostad_from_json(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m),
                             names_subject_rest(natsMsg_GetSubject(m), NAMES_FAM_HOSTS), &ad, err, sizeof(err)) == 0) {
            for (k = 0; k < n && strcmp(h[k].ad.host, ad.host); k++)
                ;
            if (k < HOSTS_MAX) {
                h[k].ad = ad;
                h[k].seen_ms = text_now_ms();
                n += k == n;
            }
        } else {
            char *safe = text_printable(natsMsg_GetSubject(m));
            fprintf(stderr, "orchctl: hosts: an advert on %s refused: %s\n", safe, err);
            free(safe);
        }
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(sub);
    if (json)
        print_json(h, n, text_now_ms());
    else
        print_table(h, n, text_now_ms());
    free(h);
    return 0;
}
