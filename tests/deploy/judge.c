/* The deployment test's judge (tests/deploy/deploy.sh), talking to the
 * deployed nats-server as a client with the operator's credentials
 * (ORCH_NATS_URL, ORCH_NATS_USER, ORCH_NATS_PASSWORD):
 *
 *   deploy-judge leader ROLE     prints the instance holding the lease ROLE
 *                                ("scheduler", "monitor"); exit 1 if none
 *   deploy-judge check ID...     reads the run back (history.h) and puts
 *                                each submitted ID in one class of the chaos
 *                                checker (checker.h); prints the counts and
 *                                exits 0 only when every ID is COMPLETE,
 *                                none was lost or duplicated, and every
 *                                review was answered once
 *
 * The token ledger is printed, not judged: in the demo, tokens are also
 * charged from the heartbeats of an attempt that ends in an error, and for
 * reviews, neither of which the checker counts as reported. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#include "auth.h"
#include "checker.h"
#include "history.h"

static natsConnection *connect_env(void)
{
    natsOptions *o = NULL;
    natsConnection *nc = NULL;
    const char *url = getenv("ORCH_NATS_URL"), *user = getenv("ORCH_NATS_USER"), *pass = getenv("ORCH_NATS_PASSWORD");
    natsOptions_Create(&o);
    natsOptions_SetURL(o, url ? url : "nats://127.0.0.1:4222");
    if (user) {
        char inbox[128];
        natsOptions_SetUserInfo(o, user, pass ? pass : "");
        /* deploy/nats.conf lets each identity read only its own inbox */
        if (auth_inbox_prefix(user, inbox, sizeof(inbox)))
            natsOptions_SetCustomInboxPrefix(o, inbox);
    }
    natsOptions_SetTimeout(o, 5000);
    if (natsConnection_Connect(&nc, o) != NATS_OK) {
        fprintf(stderr, "deploy-judge: cannot connect to %s: %s\n", url ? url : "(default)", nats_GetLastError(NULL));
        nc = NULL;
    }
    natsOptions_Destroy(o);
    return nc;
}

static int check(jsCtx *js, int n, char **ids)
{
    checker *ck = ck_create();
    ck_report rep;
    uint64_t ledger = 0;
    long reviews_off = 0;
    int ok;
    for (int i = 0; i < n; i++)
        ck_submitted(ck, ids[i]);
    if (hist_collect(js, ck, &ledger, &reviews_off, stderr) != 0) {
        fprintf(stderr, "deploy-judge: reading the streams and buckets back failed: %s\n", nats_GetLastError(NULL));
        ck_destroy(ck);
        return 1;
    }
    ck_check(ck, &rep, stderr);
    ok = rep.submitted == n && rep.n[CK_COMPLETED] == n && reviews_off == 0;
    printf("deploy-judge: submitted %ld, completed %ld, escalated %ld, lost %ld, duplicated %ld, unknown %ld; "
           "reviews answered otherwise than dispatched %ld\n",
           rep.submitted, rep.n[CK_COMPLETED], rep.n[CK_ESCALATED], rep.n[CK_LOST], rep.n[CK_DUPLICATED],
           rep.n[CK_UNKNOWN], reviews_off);
    printf("deploy-judge: tokens (not judged): the ledger says %llu, the results report %llu; %ld requirements charged otherwise\n",
           (unsigned long long)ledger, (unsigned long long)rep.tokens_reported, rep.ledger_off);
    printf("deploy-judge: %s\n", ok ? "PASS" : "FAIL");
    ck_destroy(ck);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    natsConnection *nc;
    jsCtx *js = NULL;
    int rc = 2;
    if (argc < 3 || (strcmp(argv[1], "leader") && strcmp(argv[1], "check"))) {
        fprintf(stderr, "usage: deploy-judge leader ROLE | deploy-judge check ID...\n");
        return 2;
    }
    if (!(nc = connect_env()))
        return 2;
    if (natsConnection_JetStream(&js, nc, NULL) != NATS_OK) {
        fprintf(stderr, "deploy-judge: no JetStream context: %s\n", nats_GetLastError(NULL));
    } else if (!strcmp(argv[1], "leader")) {
        char holder[128];
        rc = hist_leader(js, argv[2], holder, sizeof(holder)) == 0 ? 0 : 1;
        if (rc == 0)
            printf("%s\n", holder);
    } else {
        rc = check(js, argc - 2, argv + 2);
    }
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nats_Close();
    return rc;
}
