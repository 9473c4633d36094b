/* orchctl roadmap import|sync: a Markdown roadmap's Pending and New items
 * submitted as intake; the statuses the suite knows written back
 * (roadmap.c parses and rewrites, purely). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "edge.h"
#include "names.h"
#include "roadmap.h"
#include "text.h"

/* orch.status of id, or NULL (not submitted yet, or no answer). */
static cJSON *status_of(ctl *c, const char *id)
{
    char subject[128];
    natsMsg *reply = NULL;
    const char *code = NULL;
    cJSON *o;
    names_subject(subject, sizeof(subject), NAMES_SUBJ_STATUS, id, NULL);
    if (natsConnection_RequestString(&reply, c->nc, subject, "", 3000) != NATS_OK)
        return NULL;
    if (natsMsgHeader_Get(reply, "Nats-Service-Error-Code", &code) == NATS_OK) {
        natsMsg_Destroy(reply);
        return NULL;
    }
    o = parse_reply(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
    natsMsg_Destroy(reply);
    return o;
}

/* A split requirement waits on its own parts: the roadmap says where its
 * parts are, not "Blocked by" them. Escalated when one is, in progress
 * when one has started, ready when one is, else blocked by what its parts
 * wait on. NULL when the parts could not be read. */
static const char *parts_status(ctl *c, const cJSON *parts, char *buf, size_t len)
{
    int escalated = 0, started = 0, ready = 0, n = 0;
    size_t used = 0;
    char blockers[400] = "";
    const cJSON *p;
    cJSON_ArrayForEach(p, parts)
    {
        cJSON *o = cJSON_IsString(p) ? status_of(c, p->valuestring) : NULL;
        const char *st = o ? jstr(o, "status") : "";
        const cJSON *b, *it;
        if (!o)
            return NULL;
        n++;
        escalated |= !strcmp(st, "ESCALATED") || !strcmp(st, "REJECTED");
        started |= strcmp(st, "READY") && strcmp(st, "BLOCKED") && strcmp(st, "ESCALATED") && strcmp(st, "REJECTED");
        ready |= !strcmp(st, "READY");
        b = cJSON_GetObjectItem(o, "blockedBy");
        cJSON_ArrayForEach(it, b)
        {
            int own = 0;
            const cJSON *q;
            cJSON_ArrayForEach(q, parts) own |= cJSON_IsString(q) && cJSON_IsString(it) && !strcmp(q->valuestring, it->valuestring);
            if (!own && cJSON_IsString(it) && !strstr(blockers, it->valuestring) && used < sizeof(blockers))
                used += (size_t)snprintf(blockers + used, sizeof(blockers) - used, "%s %s", used ? "," : "",
                                         it->valuestring);
        }
        cJSON_Delete(o);
    }
    if (!n)
        return NULL;
    if (escalated)
        snprintf(buf, len, "Escalated");
    else if (started)
        snprintf(buf, len, "In Progress");
    else if (ready || !*blockers)
        snprintf(buf, len, "Ready");
    else
        snprintf(buf, len, "Blocked by%s", blockers);
    return buf;
}

/* The roadmap's word for a state. */
static const char *roadmap_status(ctl *c, const char *id, char *buf, size_t len)
{
    cJSON *o = status_of(c, id);
    const char *st;
    if (!o)
        return NULL; /* not submitted (yet): leave the line alone */
    st = jstr(o, "status");
    if (!strcmp(st, "BLOCKED") && cJSON_IsArray(cJSON_GetObjectItem(o, "parts"))) {
        const char *w = parts_status(c, cJSON_GetObjectItem(o, "parts"), buf, len);
        cJSON_Delete(o);
        return w;
    }
    roadmap_state_word(o, buf, len);
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

/* Items per intake message: the router takes 256 (edge's max_list). */
#define ITEMS_PER_MESSAGE 200

/* The items of one intake message under way, as the seed's JSON. */
typedef struct {
    char **json;
    const char **id;   /* borrowed from the roadmap */
    int n;
    size_t bytes;   /* of the array they make: [a,b,...] */
} batch;

static void batch_clear(batch *b)
{
    for (int i = 0; i < b->n; i++)
        free(b->json[i]);
    free(b->json);
    free(b->id);
    memset(b, 0, sizeof(*b));
}

/* Submits b as one message. The router refuses a bad item alone, named by
 * its place in the list; a message it refuses as a whole is sent again an
 * item a message, so that only the bad ones are refused, each named with
 * the router's reason; *refused counts those. */
static int batch_send(ctl *c, batch *b, int *refused)
{
    char *body;
    size_t used = 0;
    int rc, whole = 0;

    if (b->n == 0)
        return 0;
    if (b->n == 1) { /* an object alone: the router's words name its fields without "[0]: " */
        rc = submit_body_as(c, b->json[0], strlen(b->json[0]), "application/json", NULL, b->id, 1, NULL);
        *refused += rc == EXIT_FAIL;
        batch_clear(b);
        return rc;
    }
    body = xmalloc(b->bytes + 1);
    body[used++] = '[';
    for (int i = 0; i < b->n; i++)
        used += (size_t)sprintf(body + used, "%s%s", i ? "," : "", b->json[i]);
    body[used++] = ']';
    body[used] = '\0';
    /* the router refuses a bad item alone (the refusal names it): a whole
     * refusal is of the message (its size, its syntax) */
    rc = submit_body_as(c, body, used, "application/json", &whole, b->id, b->n, refused);
    free(body);
    for (int i = 0; whole && i < b->n && rc != EXIT_NATS; i++) {
        int one = submit_body_as(c, b->json[i], strlen(b->json[i]), "application/json", NULL, b->id + i, 1, NULL);
        if (i == 0 || (one && rc != EXIT_NATS))
            rc = one;
        *refused += one == EXIT_FAIL;
    }
    batch_clear(b);
    return rc;
}

/* roadmap import: every Pending or New item, in messages each under the
 * largest the server and the router take (the connection's max payload;
 * edge's 256 KiB) and of at most ITEMS_PER_MESSAGE items: counting items
 * alone, 200 ordinary ones made a message of 281 KB, refused whole as too
 * large. An item the
 * parser found a problem in is named and not sent; the router's refusals
 * are named as they come; the rest go in, and the exit code is 1 when
 * anything was refused. */
static int import(ctl *c, const char *path, const roadmap *r)
{
    edge_limits lim;
    int64_t server = natsConnection_GetMaxPayload(c->nc);
    size_t max;
    batch b = {0};
    int rc = 0, pending = 0, problems = 0;

    edge_limits_default(&lim);
    max = lim.max_payload;
    if (server > 0 && (size_t)server < max)
        max = (size_t)server;
    /* headers (Content-Type) travel in the same limit */
    max = max > 4096 ? max - 1024 : max / 2;
    for (int i = 0; i < r->n && rc != EXIT_NATS; i++) {
        const rm_item *it = &r->items[i];
        char *json;
        size_t len;
        if (!roadmap_item_pending(it))
            continue;
        pending++;
        if (it->problem) {
            char *id = text_printable(it->id);
            fprintf(stderr, "orchctl: rejected %s (%s): %s\n", id, it->problem_reason, it->problem);
            free(id);
            problems++;
            continue;
        }
        json = roadmap_item_json(it);
        len = strlen(json);
        if (b.n && (b.n == ITEMS_PER_MESSAGE || b.bytes + 1 + len > max)) {
            int part = batch_send(c, &b, &problems);
            if (part && rc != EXIT_NATS)
                rc = part;
        }
        b.json = xrealloc(b.json, sizeof(*b.json) * (size_t)(b.n + 1));
        b.id = xrealloc(b.id, sizeof(*b.id) * (size_t)(b.n + 1));
        b.id[b.n] = it->id;
        b.json[b.n++] = json;
        b.bytes += len + (b.n > 1 ? 1 : 2); /* a comma, or the brackets */
    }
    if (rc != EXIT_NATS) {
        int part = batch_send(c, &b, &problems);
        if (part && rc != EXIT_NATS)
            rc = part;
    }
    batch_clear(&b);
    if (pending == 0)
        fprintf(stderr, "orchctl: %s: nothing Pending or New\n", path);
    if (problems) {
        fprintf(stderr, "orchctl: %d item%s of %s refused (named above); the rest went in\n", problems,
                problems == 1 ? "" : "s", path);
        if (rc == 0)
            rc = EXIT_FAIL;
    }
    return rc;
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
        rc = import(c, argv[2], &r);
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
