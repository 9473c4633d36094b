/* A small fake Matrix homeserver for tests: a real HTTP server on a free
 * loopback port that speaks the client-server endpoint the monitor uses,
 *
 *   PUT /_matrix/client/v3/rooms/{roomId}/send/m.room.message/{txnId}
 *
 * checks the bearer token, records every request, and answers 200 with an
 * event id (the same event for a repeated txnId, as a real homeserver does),
 * or what the test scripted: a status with a body and optional Retry-After
 * header (429, 500, 403...), a redirect, or being down (connections closed
 * at once). Paths under /moved are served as the same endpoint, so a test
 * can redirect there. */
#ifndef FAKEMATRIX_H
#define FAKEMATRIX_H

#include <stdint.h>

typedef struct fakematrix fakematrix;

typedef struct {
    char txn[128];
    char room[128];
    char body[8192];
    int status;          /* what it answered */
    int64_t at_ms;       /* monotonic */
    int repeat;          /* the txnId was accepted before */
    int scripted;        /* the answer was scripted, not an event */
    int moved;           /* it came on /moved/...: a redirect was followed */
    char auth[300];      /* its Authorization header */
} fm_request;

fakematrix *fm_start(const char *token);
void fm_stop(fakematrix *f);
int fm_port(const fakematrix *f);

/* The next n requests get status with body and, when retry_after is not
 * NULL, that Retry-After header. */
void fm_script(fakematrix *f, int status, const char *body, const char *retry_after, int n);
void fm_down(fakematrix *f, int down);
/* The next n requests get status (301, 307...) with Location:
 * <location_prefix><the request's path>. */
void fm_redirect(fakematrix *f, int status, const char *location_prefix, int n);

int fm_count(fakematrix *f);
void fm_get(fakematrix *f, int i, fm_request *out);
/* Messages accepted, counting a repeated txnId once. */
int fm_delivered(fakematrix *f);

#endif
