/* Posting a message to a Matrix room with the client-server API:
 *
 *   PUT {homeserver}/_matrix/client/v3/rooms/{roomId}/send/m.room.message/{txnId}
 *   Authorization: Bearer {token}
 *
 * The room id and the transaction id are URL-encoded; the body carries a
 * plain `body` and an HTML `formatted_body`; a reply goes in the thread of
 * an earlier event (m.relates_to, rel_type m.thread, with the reply
 * fallback). The transaction id is the caller's, derived from what is sent,
 * so a retry is never a second message (the homeserver answers a repeated
 * txnId with the same event).
 *
 * matrix_parse is the pure part: what an answer means. 2xx with an event id
 * ("$..."): sent. A 2xx without one (garbage, {}, a proxy's page) is not
 * proof of delivery: back off and try again, the txnId keeps it one
 * message. 429: wait retry_after_ms from the body (M_LIMIT_EXCEEDED) or the
 * Retry-After header (seconds), then again. 5xx, 3xx that were not followed
 * and transport failures: back off and try again. Other 4xx: refused for
 * good, with Matrix's errcode.
 *
 * Redirects: matrix_send follows at most MATRIX_MAX_REDIRECTS of them
 * itself, keeping the method and body, and only to the homeserver's own
 * origin (scheme, host and port): the access token is for that origin, so a
 * redirect elsewhere is not followed (a retryable failure, never a drop).
 *
 * matrix_retry_delay turns a retryable outcome into a wait: exponential from
 * base_ms by the attempt, jittered but never under base_ms, capped at
 * max_ms; a 429's own delay is honoured when longer, and a 429 that asks for
 * nothing (retry_after_ms 0) still waits the floor. */
#ifndef MONITOR_MATRIX_H
#define MONITOR_MATRIX_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *homeserver;   /* "https://matrix.example.org" */
    const char *room;         /* "!abc:example.org" */
    const char *token;        /* never logged */
    int64_t timeout_ms;
} matrix_cfg;

typedef enum { MX_SENT = 0, MX_RETRY_AFTER, MX_BACKOFF, MX_REFUSED } mx_outcome;

typedef struct {
    mx_outcome outcome;
    char event_id[256];
    int64_t retry_ms;         /* MX_RETRY_AFTER */
    char detail[300];         /* errcode and error, or the transport failure */
} mx_result;

/* What an HTTP answer means. status 0: the request did not complete
 * (transport error in body). retry_after_header may be NULL. Pure. */
void matrix_parse(long status, const char *retry_after_header, const char *body, size_t len, mx_result *r);

#define MATRIX_MAX_REDIRECTS 3

/* True when url has the scheme, host and port of base (the homeserver;
 * default ports by scheme, case-insensitive). Pure. */
int matrix_same_origin(const char *base, const char *url);

/* The delay before attempt+1, in ms, for a retryable outcome (attempt
 * counts from 1). rand01 in [0, 1): the jitter. Pure. */
int64_t matrix_retry_delay(const mx_result *r, uint64_t attempt, int64_t base_ms, int64_t max_ms, double rand01);

/* A log line that repeats at most once per every_ms: returns 1 when this one
 * is to be logged, with *suppressed the lines dropped since the last one. */
typedef struct {
    int64_t last_ms;
    long suppressed;
} mx_throttle;
int matrix_throttle(mx_throttle *t, int64_t now_ms, int64_t every_ms, long *suppressed);

/* Sends one message. thread_event may be NULL or "". */
void matrix_send(const matrix_cfg *c, const char *txn, const char *body, const char *html, const char *thread_event,
                 mx_result *r);

/* The message JSON (malloc'd). Pure. */
char *matrix_body(const char *body, const char *html, const char *thread_event);

/* The transaction id of an alert message (malloc-free, into out): derived
 * from its message id (Nats-Msg-Id) when it has one, else from its
 * fingerprint, so a redelivery is the same Matrix message and two alert
 * messages sharing a fingerprint are two. Pure. */
void matrix_txn(const char *msg_id, const char *fingerprint, char *out, size_t len);

/* The KV key (orch_alerts) under which the event id that announced the
 * alert fp is kept, for its resolution's thread. Pure. */
void matrix_event_key(const char *fp, char *out, size_t len);

/* HTML-escapes text into a malloc'd string, newlines as <br>. Pure. */
char *matrix_html_escape(const char *text);

#endif
