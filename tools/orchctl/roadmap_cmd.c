/* orchctl roadmap import|sync: a Markdown roadmap's Pending and New items
 * submitted as intake; the statuses the suite knows written back
 * (roadmap.c parses and rewrites, purely). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "names.h"
#include "roadmap.h"
#include "text.h"

/* The roadmap's word for a state. */
static const char *roadmap_status(ctl *c, const char *id, char *buf, size_t len)
{
    cJSON *o;
    char subject[128];
    natsMsg *reply = NULL;
    const char *st, *code = NULL;
    names_subject(subject, sizeof(subject), NAMES_SUBJ_STATUS, id, NULL);
    if (natsConnection_RequestString(&reply, c->nc, subject, "", 3000) != NATS_OK)
        return NULL;
    if (natsMsgHeader_Get(reply, "Nats-Service-Error-Code", &code) == NATS_OK) {
        natsMsg_Destroy(reply);
        return NULL; /* not submitted (yet): leave the line alone */
    }
    o = parse_reply(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
    natsMsg_Destroy(reply);
    st = o ? jstr(o, "status") : "";
    if (!strcmp(st, "COMPLETE"))
        snprintf(buf, len, "Complete");
    else if (!strcmp(st, "DISPATCHED") || !strcmp(st, "VERIFYING"))
        snprintf(buf, len, "In Progress");
    else if (!strcmp(st, "REVIEWING"))
        snprintf(buf, len, "In Review");
    else if (!strcmp(st, "MERGING"))
        snprintf(buf, len, "Merging");
    else if (!strcmp(st, "ESCALATED"))
        snprintf(buf, len, "Escalated");
    else if (!strcmp(st, "BLOCKED")) {
        const cJSON *b, *it;
        size_t used = (size_t)snprintf(buf, len, "Blocked by");
        b = cJSON_GetObjectItem(o, "blockedBy");
        cJSON_ArrayForEach(it, b) used += (size_t)snprintf(buf + used, len > used ? len - used : 0, "%s %s",
                                                           it == b->child ? "" : ",", it->valuestring);
    } else if (*st)
        snprintf(buf, len, "Ready");
    else
        buf[0] = '\0';
    cJSON_Delete(o);
    return *buf ? buf : NULL;
}

typedef struct {
    ctl *c;
    char buf[64][200];
    int n;
} sync_ctx;

static const char *status_cb(const char *id, void *arg)
{
    sync_ctx *s = arg;
    if (s->n == 64)
        return NULL;
    return roadmap_status(s->c, id, s->buf[s->n++], sizeof(s->buf[0]));
}

/* roadmap import FILE | roadmap sync FILE */
int cmd_roadmap(ctl *c, int argc, char **argv)
{
    size_t len = 0;
    char *text, err[256];
    roadmap r;
    int rc = 0;

    if (argc != 3 || (strcmp(argv[1], "import") && strcmp(argv[1], "sync"))) {
        fprintf(stderr, "orchctl: usage: orchctl roadmap import|sync plans/roadmap.md\n");
        return EXIT_USAGE;
    }
    if (!(text = slurp(argv[2], 4 << 20, &len))) {
        return EXIT_FAIL;
    }
    if (roadmap_parse(text, len, &r, err, sizeof(err)) != 0) {
        fprintf(stderr, "orchctl: %s: %s\n", argv[2], err);
        free(text);
        return EXIT_FAIL;
    }
    if ((rc = ctl_connect(c)) != 0) {
        roadmap_free(&r);
        free(text);
        return rc;
    }
    if (!strcmp(argv[1], "import")) {
        char *json = roadmap_pending_json(&r);
        if (!json) {
            fprintf(stderr, "orchctl: %s: nothing Pending or New\n", argv[2]);
        } else {
            /* in messages of at most 200 requirements (the router takes 256);
             * one with refusals (an id submitted before) does not keep the
             * rest from going in: the exit code tells */
            cJSON *all = cJSON_Parse(json), *chunk = NULL;
            int n = cJSON_GetArraySize(all);
            for (int i = 0; i < n && rc != EXIT_NATS; i++) {
                if (!chunk)
                    chunk = cJSON_CreateArray();
                cJSON_AddItemToArray(chunk, cJSON_Duplicate(cJSON_GetArrayItem(all, i), 1));
                if (cJSON_GetArraySize(chunk) == 200 || i == n - 1) {
                    char *part = cJSON_PrintUnformatted(chunk);
                    int part_rc = submit_body(c, part, strlen(part), "application/json");
                    if (part_rc && rc != EXIT_NATS)
                        rc = part_rc;
                    free(part);
                    cJSON_Delete(chunk);
                    chunk = NULL;
                }
            }
            cJSON_Delete(chunk);
            cJSON_Delete(all);
        }
        free(json);
    } else {
        int changed = 0;
        sync_ctx *sc = xcalloc(1, sizeof(*sc));
        char *out, tmp[1100];
        FILE *f;
        sc->c = c;
        /* at most 64 lookups per run is plenty for a roadmap file; more are left as they are */
        out = roadmap_with_status(text, len, &r, status_cb, sc, &changed);
        snprintf(tmp, sizeof(tmp), "%s.tmp", argv[2]);
        if (!(f = fopen(tmp, "wb")) || fwrite(out, 1, strlen(out), f) != strlen(out) || fclose(f) != 0 ||
            rename(tmp, argv[2]) != 0) {
            fprintf(stderr, "orchctl: cannot write %s\n", argv[2]);
            rc = EXIT_FAIL;
        } else {
            printf("%d status line%s updated in %s\n", changed, changed == 1 ? "" : "s", argv[2]);
        }
        free(out);
        free(sc);
    }
    roadmap_free(&r);
    free(text);
    return rc;
}
