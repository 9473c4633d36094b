/* What the scheduler answers people, as JSON, from the core's public
 * queries (schedule.h): a requirement's state (orch.status.<id>), a page of
 * orch.scheduler.list, the counts by status ($SRV stats), and the bodies of
 * those requests. Pure: no NATS, no clock (the time is an argument), no log;
 * the adapter takes the lock, calls these and sends what they return.
 *
 * A list page must fit in one reply (the server's 1 MB limit), whatever the
 * requirements hold, so a row is brief: its long fields (title, reason, the
 * last failure's output) are cut at SCHED_VIEW_TEXT_MAX bytes on a UTF-8
 * boundary, it names at most SCHED_VIEW_BLOCKERS_MAX waited-on ids and as
 * many blockers (blockedByMore counts the other blockers), and says
 * "truncated": true when a field or the blockers were cut; orch.status.<id>
 * has everything. A page takes rows until
 * the next would carry its rows past SCHED_VIEW_LIST_BYTES_MAX (always at
 * least one), and names the slot of the next page in "next" (absent on the
 * last), so a client pages with {"offset": next} until there is none. Slots
 * are the core's (sched_slot): they keep their numbers while the leader
 * lives, so a page never repeats or skips a requirement that stays. */
#ifndef SCHED_SCHED_VIEW_H
#define SCHED_SCHED_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "schedule.h"

#define SCHED_VIEW_LIST_BYTES_MAX (768 * 1024) /* a page's rows at most: replies must stay under the 1 MB limit */
#define SCHED_VIEW_TEXT_MAX 300                /* a row's long fields are cut here */
#define SCHED_VIEW_BLOCKERS_MAX 16             /* blockedBy and waitIds a row lists */
#define SCHED_VIEW_PAGE_MAX 10000              /* the largest "limit" a list request may ask for */

/* The state st for people: id, title, status, type (a split original's is
 * its parts' types, "backend+frontend", read from s, and its parts are
 * listed), priority, attempt, reason, what it waits for, its blockers, eta
 * and etaMs when eta (ms since the epoch) is not 0, instance, tokens, the
 * estimate, the last failure's output. brief: a list row (see the top).
 * s may be NULL (a state read back from KV: no parts' types). Everything is
 * borrowed; the caller owns the object returned (never NULL; out of memory
 * aborts, as everywhere in the daemons). */
cJSON *sched_view_status(const sched *s, const pb_state *st, int64_t eta, int brief);

/* The body of an orch.scheduler.list request: {"offset": N, "limit": M},
 * both optional, or nothing at all (the first page of default_limit rows).
 * Returns 0 with *offset and *limit set, or -1 with why in err (the body is
 * not an object, offset is not a number from 0, limit not one from 1 to
 * SCHED_VIEW_PAGE_MAX). body need not end in NUL. */
int sched_view_list_request(const char *body, size_t len, long long default_limit, long long *offset,
                            long long *limit, char *err, size_t errlen);

/* A page of orch.scheduler.list: the mode ("turns" with turnMinutes, the
 * cycle, when turn_minutes > 0; else "continuous"), conservation, total and counts by status, offset, up to
 * limit brief rows from slot offset with their ETAs, next, the roadmap's
 * ETA and its 90th percentile, the critical path (at most 64 ids) and its
 * end, and the day's budget per type. s is not changed in what it decides
 * (its forecast cache may be). The caller owns the object returned. */
cJSON *sched_view_list(sched *s, int turn_minutes, long long offset, long long limit, const sched_clock *now);

/* The requirements known, returned, and in *by a new object of their counts
 * by status name (the caller owns it; it belongs under some key of the
 * answer, which is the caller's). */
size_t sched_view_by_status(const sched *s, cJSON **by);

/* The requirement id an orch.scheduler.retry body names: {"id": "REQ-1"},
 * else the body itself taken as the id; cut to fit len (at least 1) and
 * always ended with NUL. body need not end in NUL. */
void sched_view_request_id(const char *body, size_t blen, char *id, size_t len);

#endif
