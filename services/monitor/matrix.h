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
 * matrix_parse is the pure part: what an answer means. 200: sent, with the
 * event id. 429: wait retry_after_ms from the body (M_LIMIT_EXCEEDED) or the
 * Retry-After header (seconds), then again. 5xx and transport failures: back
 * off and try again. Other 4xx: refused for good, with Matrix's errcode. */
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

/* Sends one message. thread_event may be NULL or "". */
void matrix_send(const matrix_cfg *c, const char *txn, const char *body, const char *html, const char *thread_event,
                 mx_result *r);

/* The message JSON (malloc'd). Pure. */
char *matrix_body(const char *body, const char *html, const char *thread_event);

/* HTML-escapes text into a malloc'd string, newlines as <br>. Pure. */
char *matrix_html_escape(const char *text);

#endif
