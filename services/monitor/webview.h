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
 * and what a search matched, with the edges among them. */
#ifndef MONITOR_WEBVIEW_H
#define MONITOR_WEBVIEW_H

#include <stdint.h>

#include "dashboard.h"

typedef struct {
    const char *name, *severity, *text;   /* borrowed */
    int64_t since_ms;
} webview_alert;

typedef struct {
    const dash_input *dash;
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
