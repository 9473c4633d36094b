/* The outbox: a batch's state writes and publishes, coalesced and ordered so
 * that a decision is stored before it is published and "published" only
 * after, with failures kept and tried again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "outbox.h"

/* A recorder: every operation as one line, and a set of operations (by
 * their text) that fail once each. */
typedef struct {
    char ops[64][96];
    int nops;
    int phase_ops[64];      /* op index of each slot of the current phase */
    int fail[64];           /* per slot of the current phase */
    const char *fail_once[8];
    int nfail;
    const char *fail_always;   /* an operation that fails every time (by its text) */
    int fail_all;              /* everything fails: an outage */
    int waits;
} rec;

static int should_fail(rec *r, const char *op)
{
    if (r->fail_all || (r->fail_always && !strcmp(r->fail_always, op)))
        return 1;
    for (int i = 0; i < r->nfail; i++)
        if (r->fail_once[i] && !strcmp(r->fail_once[i], op)) {
            r->fail_once[i] = NULL;
            return 1;
        }
    return 0;
}

static void r_begin(void *ctx, int n)
{
    rec *r = ctx;
    assert_true(n > 0 && n < 64);
    memset(r->fail, 0, sizeof(r->fail));
}

static void r_write(void *ctx, int slot, int bucket, const char *key, const void *data, size_t len)
{
    rec *r = ctx;
    snprintf(r->ops[r->nops], sizeof(r->ops[0]), "write %d/%s=%.*s", bucket, key, (int)len, (const char *)data);
    r->fail[slot] = should_fail(r, r->ops[r->nops]);
    r->nops++;
}

static void r_publish(void *ctx, int slot, const char *subject, const char *msg_id, const void *data, size_t len,
                      const char *ctype)
{
    rec *r = ctx;
    (void)ctype;
    snprintf(r->ops[r->nops], sizeof(r->ops[0]), "publish %s [%s] %.*s", subject, msg_id ? msg_id : "-", (int)len,
             (const char *)data);
    r->fail[slot] = should_fail(r, r->ops[r->nops]);
    r->nops++;
}

static void r_wait(void *ctx)
{
    rec *r = ctx;
    snprintf(r->ops[r->nops++], sizeof(r->ops[0]), "wait");
    r->waits++;
}

static int r_ok(void *ctx, int slot)
{
    return !((rec *)ctx)->fail[slot];
}

static outbox_io io_of(rec *r)
{
    outbox_io io = {r, r_begin, r_write, r_publish, r_wait, r_ok};
    return io;
}

/* The last flush's given-up messages, one line each, as "<key> <subject>
 * [<msg_id>] <len>". */
static char dropped[8][160];
static int ndropped;

static void read_dropped(const outbox *o)
{
    const outbox_drop *d;
    int n = outbox_dropped(o, &d);
    ndropped = 0;
    for (int i = 0; i < n && i < 8; i++)
        snprintf(dropped[ndropped++], sizeof(dropped[0]), "%s %s [%s] %zu", d[i].key ? d[i].key : "-", d[i].subject,
                 d[i].msg_id ? d[i].msg_id : "-", d[i].len);
}

static void put(outbox *o, int bucket, const char *key, const char *v)
{
    outbox_put(o, bucket, key, v, strlen(v));
}

static void pub(outbox *o, const char *key, const char *subject, const char *id, const char *v)
{
    outbox_publish(o, 0, key, subject, id, v, strlen(v), "text/plain");
}

static void expect_ops(const rec *r, const char *const *want, int n)
{
    for (int i = 0; i < n && i < r->nops; i++)
        assert_string_equal(r->ops[i], want[i]);
    assert_int_equal(r->nops, n);
}

#define OPS(...) ((const char *const[]){__VA_ARGS__}), (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))

/* READY, DISPATCHED, publish, published: one write of the decision, the
 * publish, then the published state; three waits for the whole batch. */
static void dispatch_is_written_before_and_after_its_publish(void **state)
{
    rec r = {0};
    outbox_io io = io_of(&r);
    outbox *o = outbox_create();
    (void)state;
    put(o, 0, "REQ-1", "ready");
    put(o, 0, "REQ-1", "dispatched");
    pub(o, "REQ-1", "requirements.backend.REQ-1", "REQ-1-a1", "work");
    put(o, 0, "REQ-1", "published");
    put(o, 0, "REQ-2", "blocked");
    assert_int_equal(outbox_flush(o, &io), 0);
    expect_ops(&r, OPS("write 0/REQ-1=dispatched", "write 0/REQ-2=blocked", "wait",
                       "publish requirements.backend.REQ-1 [REQ-1-a1] work", "wait", "write 0/REQ-1=published", "wait"));
    /* Nothing left: a second flush does nothing at all. */
    r.nops = 0;
    assert_int_equal(outbox_flush(o, &io), 0);
    assert_int_equal(r.nops, 0);
    outbox_destroy(o);
}

/* The publish failed: "published" is not written; the next flush publishes
 * again with the same id, then writes it. */
static void failed_publish_is_retried_and_published_waits(void **state)
{
    rec r = {.fail_once = {"publish requirements.backend.REQ-1 [REQ-1-a1] work"}, .nfail = 1};
    outbox_io io = io_of(&r);
    outbox *o = outbox_create();
    (void)state;
    put(o, 0, "REQ-1", "dispatched");
    pub(o, "REQ-1", "requirements.backend.REQ-1", "REQ-1-a1", "work");
    put(o, 0, "REQ-1", "published");
    assert_int_equal(outbox_flush(o, &io), 1);
    expect_ops(&r, OPS("write 0/REQ-1=dispatched", "wait", "publish requirements.backend.REQ-1 [REQ-1-a1] work",
                       "wait"));
    r.nops = 0;
    assert_int_equal(outbox_flush(o, &io), 0);
    expect_ops(&r, OPS("publish requirements.backend.REQ-1 [REQ-1-a1] work", "wait", "write 0/REQ-1=published",
                       "wait"));
    outbox_destroy(o);
}

/* The decision was not stored: nothing is published until it is. */
static void no_publish_before_its_decision_is_stored(void **state)
{
    rec r = {.fail_once = {"write 0/REQ-1=dispatched"}, .nfail = 1};
    outbox_io io = io_of(&r);
    outbox *o = outbox_create();
    (void)state;
    put(o, 0, "REQ-1", "dispatched");
    pub(o, "REQ-1", "requirements.backend.REQ-1", "REQ-1-a1", "work");
    put(o, 0, "REQ-1", "published");
    pub(o, NULL, "alerts.warning.x", "x", "alert");
    assert_int_equal(outbox_flush(o, &io), 1);
    /* The untied alert goes out; REQ-1's publish waits. */
    expect_ops(&r, OPS("write 0/REQ-1=dispatched", "wait", "publish alerts.warning.x [x] alert", "wait"));
    r.nops = 0;
    assert_int_equal(outbox_flush(o, &io), 0);
    expect_ops(&r, OPS("write 0/REQ-1=dispatched", "wait", "publish requirements.backend.REQ-1 [REQ-1-a1] work",
                       "wait", "write 0/REQ-1=published", "wait"));
    outbox_destroy(o);
}

/* Plain writes coalesce per key and bucket; a failed one is written again
 * with its latest value. */
static void writes_coalesce_and_failures_keep_the_latest(void **state)
{
    rec r = {.fail_once = {"write 1/day.total=3"}, .nfail = 1};
    outbox_io io = io_of(&r);
    outbox *o = outbox_create();
    (void)state;
    put(o, 1, "day.total", "1");
    put(o, 1, "day.total", "2");
    put(o, 1, "day.total", "3");
    put(o, 0, "day.total", "state");
    assert_int_equal(outbox_pending(o), 2);
    assert_int_equal(outbox_flush(o, &io), 1);
    expect_ops(&r, OPS("write 1/day.total=3", "write 0/day.total=state", "wait"));
    put(o, 1, "day.total", "4");
    r.nops = 0;
    assert_int_equal(outbox_flush(o, &io), 0);
    expect_ops(&r, OPS("write 1/day.total=4", "wait"));
    outbox_destroy(o);
}

/* Publishes keep the order they were asked for across keys (a merge batch
 * goes out in dependency order). */
static void publishes_keep_their_order(void **state)
{
    rec r = {0};
    outbox_io io = io_of(&r);
    outbox *o = outbox_create();
    (void)state;
    put(o, 0, "REQ-2", "s2");
    put(o, 0, "REQ-1", "s1");
    pub(o, "REQ-1", "m.REQ-1", "1", "a");
    pub(o, "REQ-2", "m.REQ-2", "2", "b");
    pub(o, NULL, "spawn", NULL, "c");
    assert_int_equal(outbox_flush(o, &io), 0);
    expect_ops(&r, OPS("write 0/REQ-2=s2", "write 0/REQ-1=s1", "wait", "publish m.REQ-1 [1] a", "publish m.REQ-2 [2] b",
                       "publish spawn [-] c", "wait"));
    outbox_destroy(o);
}

/* A restart re-publishing a decision read back from storage has nothing to
 * write first; and a new decision replaces an unstored older one. */
static void republish_without_decision_and_newer_decisions(void **state)
{
    rec r = {.fail_once = {"write 0/REQ-1=a1"}, .nfail = 1};
    outbox_io io = io_of(&r);
    outbox *o = outbox_create();
    (void)state;
    pub(o, "REQ-9", "requirements.backend.REQ-9", "REQ-9-a2", "w");
    put(o, 0, "REQ-9", "published");
    put(o, 0, "REQ-1", "a1");
    pub(o, "REQ-1", "r.REQ-1", "REQ-1-a1", "w1");
    assert_int_equal(outbox_flush(o, &io), 1);
    expect_ops(&r, OPS("write 0/REQ-1=a1", "wait", "publish requirements.backend.REQ-9 [REQ-9-a2] w", "wait",
                       "write 0/REQ-9=published", "wait"));
    put(o, 0, "REQ-1", "a1-published");
    put(o, 0, "REQ-1", "a2");
    pub(o, "REQ-1", "r.REQ-1", "REQ-1-a2", "w2");
    r.nops = 0;
    assert_int_equal(outbox_flush(o, &io), 0);
    expect_ops(&r, OPS("write 0/REQ-1=a2", "wait", "publish r.REQ-1 [REQ-1-a1] w1", "publish r.REQ-1 [REQ-1-a2] w2",
                       "wait"));
    outbox_destroy(o);
}

/* A publish that fails while others are stored is given up after
 * OUTBOX_GIVE_UP flushes, reported, and holds nothing back after that; in
 * an outage (everything fails) nothing is given up. */
static void a_publish_that_never_goes_is_given_up(void **state)
{
    rec r = {.fail_always = "publish requirements.backend.BIG [BIG-a1] huge"};
    outbox_io io = io_of(&r);
    outbox *o = outbox_create();
    char key[16];
    (void)state;
    read_dropped(o);
    assert_int_equal(ndropped, 0);      /* before any flush */
    put(o, 0, "BIG", "dispatched");
    pub(o, "BIG", "requirements.backend.BIG", "BIG-a1", "huge");
    put(o, 0, "BIG", "published");
    r.fail_all = 1;                     /* an outage first: kept, however long */
    for (int i = 0; i < 3 * OUTBOX_GIVE_UP; i++) {
        r.nops = 0;
        assert_true(outbox_flush(o, &io) > 0);
        read_dropped(o);
        assert_int_equal(ndropped, 0);
    }
    r.fail_all = 0;
    for (int i = 1; i < OUTBOX_GIVE_UP; i++) {
        snprintf(key, sizeof(key), "OK-%d", i);
        put(o, 0, key, "dispatched");
        pub(o, key, "requirements.backend.OK", key, "work");
        r.nops = 0;
        assert_int_equal(outbox_flush(o, &io), 1); /* the others go, it stays */
        read_dropped(o);
        assert_int_equal(ndropped, 0);
    }
    put(o, 0, "OK-9", "dispatched");
    pub(o, "OK-9", "requirements.backend.OK", "OK-9", "work");
    r.nops = 0;
    assert_int_equal(outbox_flush(o, &io), 0); /* the last strike */
    read_dropped(o);
    assert_int_equal(ndropped, 1);
    assert_string_equal(dropped[0], "BIG requirements.backend.BIG [BIG-a1] 4");
    /* the reader reports it through the outbox while it holds the list */
    {
        const outbox_drop *d;
        assert_int_equal(outbox_dropped(o, &d), 1);
        pub(o, NULL, "errors.scheduler.BIG", "scheduler-unpublishable-BIG", "report");
        assert_string_equal(d[0].subject, "requirements.backend.BIG");
    }
    r.nops = 0;
    assert_int_equal(outbox_flush(o, &io), 0);
    expect_ops(&r, OPS("publish errors.scheduler.BIG [scheduler-unpublishable-BIG] report", "wait"));
    read_dropped(o);
    assert_int_equal(ndropped, 0);      /* said once */
    r.nops = 0;
    assert_int_equal(outbox_flush(o, &io), 0);
    assert_int_equal(r.nops, 0);
    outbox_destroy(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dispatch_is_written_before_and_after_its_publish),
        cmocka_unit_test(failed_publish_is_retried_and_published_waits),
        cmocka_unit_test(no_publish_before_its_decision_is_stored),
        cmocka_unit_test(writes_coalesce_and_failures_keep_the_latest),
        cmocka_unit_test(publishes_keep_their_order),
        cmocka_unit_test(republish_without_decision_and_newer_decisions),
        cmocka_unit_test(a_publish_that_never_goes_is_given_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
