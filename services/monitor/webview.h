/* What the web page shows, as JSON, from what the monitor knows (the same
 * dash_input the terminal dashboard renders). Pure: no NATS, no clock (the
 * time is in the input), no log.
 *
 * Open work is everything not COMPLETE, REJECTED or ESCALATED. Each open
 * requirement gets an estimated finish: work in flight finishes when its
 * expected duration has run since its dispatch (at least a minute from now);
 * work not started finishes its expected duration after the last of its open
 * blockers does. The expected duration is the monitor's own average time to
 * complete for the requirement's complexity when it has one, else a fixed
 * guess (S 15 min, M 45, L 2 h, XL 4 h). The critical path is the chain of
 * open blockers that ends at the latest finish: walking back from it, each
 * step takes the blocker that finishes last. One pass over the items and
 * their edges (memoised; a cycle, which the scheduler refuses anyway, is cut
 * where it is met), so 5,000 requirements cost milliseconds.
 *
 * The page never gets everything at once: lists come in pages, and the
 * graph holds the critical path, the most urgent open work up to a limit,
 * and what a search matched, with the edges among them.
 *
 * The ETAs shown are the scheduler's when it answered: its forecast
 * (orch.scheduler.list: each row's etaMs, the roadmap's roadmapEtaMs and
 * roadmapEtaLateMs; docs/scheduler.md, "ETAs") is read page by page into a
 * webview_sched and given in the input. A requirement the scheduler listed
 * takes the scheduler's ETA (none when the scheduler gives none: it waits on
 * something that never ends); one it did not list, or every one when there
 * is no webview_sched, takes the monitor's estimate above, and each row
 * says which (etaSource "scheduler" or "monitor"), as does the roadmap's
 * ETA (the "eta" object of the overview, the list and the graph). */
#ifndef MONITOR_WEBVIEW_H
#define MONITOR_WEBVIEW_H

#include <stdint.h>

#include "dashboard.h"

typedef struct {
    const char *name, *severity, *text;   /* borrowed */
    int64_t since_ms;
} webview_alert;

/* The scheduler's forecast, as its list pages said it. */
typedef struct webview_sched webview_sched;

/* An empty forecast taken at at_ms (never NULL; out of memory aborts). */
webview_sched *webview_sched_create(int64_t at_ms);
void webview_sched_destroy(webview_sched *s);       /* NULL-safe */

/* Reads one answer of orch.scheduler.list (len bytes of JSON): every row's
 * etaMs (a row without one: the scheduler has no ETA for it), and from the
 * first page read, the roadmap's ETA and its 90th percentile. Returns the
 * offset of the next page to ask for, 0 after the last page, or -1 when
 * the text is not a list page (why in err, and s unchanged) or its next
 * does not lie past after (a page must move forwards). */
long long webview_sched_page(webview_sched *s, const char *json, size_t len, long long after, char *err, size_t errlen);

/* Requirements the forecast lists. */
int webview_sched_rows(const webview_sched *s);

typedef struct {
    const dash_input *dash;
    const webview_sched *sched;    /* NULL: the scheduler did not answer (the monitor's estimates) */
    int conserve_percent;          /* the scheduler's budget.conserve_percent */
    const webview_alert *alerts;   /* firing now */
    int nalerts;
} webview_input;

/* Each returns a malloc'd JSON text (never NULL; out of memory aborts). */

/* Mode, budgets (per type, the total and the conservation state), queues by
 * priority (counts by status and the first few), agents by type, blockers,
 * completions of the last hour, success metrics, firing alerts, counts by
 * status and the critical path's length and end. */
char *webview_overview(const webview_input *in);

/* Requirements matching search (case-insensitive, in id or title) and status
 * ("" any, "open", or a status name), most urgent first (on the critical
 * path, then priority, then arrival), from offset, at most limit; with the
 * total matched. */
char *webview_list(const webview_input *in, const char *search, const char *status, long offset, long limit);

/* The graph of open work: the critical path, what search matched and the
 * most urgent, together at most limit nodes besides the critical path; each
 * node's status, type, priority, estimated finish and whether it is on the
 * critical path; edges blocker -> blocked among them. */
char *webview_graph(const webview_input *in, const char *search, long limit);

/* What the monitor itself knows of one requirement (its state, its place in
 * the graph, its estimated finish), or NULL when it knows none by that id.
 * The adapter adds the scheduler's orch.status.<id> answer and the
 * verifier's steps to it. */
cJSON *webview_requirement(const webview_input *in, const char *id);

#endif
