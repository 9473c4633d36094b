/* A Markdown roadmap (docs/roadmap.md has the format and an example):
 *
 *   ## Phase 2.1 - Inventory
 *   ### REQ-042: Add inventory transaction API
 *   - Status: Pending
 *   - Priority: HIGH
 *   - Agent: roy
 *   - Depends on: REQ-041
 *   - Files: src/api/transactions.ts, tests/api/transactions.test.ts
 *   - Estimated tokens: 40000
 *   - Acceptance:
 *     - POST /api/transactions endpoint works
 *
 * Parsing keeps where each requirement's Status line is, so that writing the
 * statuses back changes those values and nothing else, byte for byte. Pure. */
#ifndef ORCHCTL_ROADMAP_H
#define ORCHCTL_ROADMAP_H

#include <stddef.h>

typedef struct {
    char id[65];
    char title[301];
    char status[64];
    char priority[16];
    char agent[64];
    char phase[32];
    char sim[32];
    long long est_tokens;
    char **deps, **files, **criteria;
    int ndeps, nfiles, ncriteria;
    size_t status_at, status_len;   /* where the Status value is in the text; len 0: no Status line */
} rm_item;

typedef struct {
    rm_item *items;
    int n;
} roadmap;

/* Returns 0, or -1 with the line and problem in err. */
int roadmap_parse(const char *text, size_t len, roadmap *out, char *err, size_t errlen);
void roadmap_free(roadmap *r);

/* The seed's JSON array of the items whose status is Pending or New (any
 * case), for intake; NULL when there are none. */
char *roadmap_pending_json(const roadmap *r);

/* text with each item's Status value replaced by status_of(id) (NULL keeps
 * it); everything else unchanged. malloc'd; *changed counts replacements. */
char *roadmap_with_status(const char *text, size_t len, const roadmap *r,
                          const char *(*status_of)(const char *id, void *arg), void *arg, int *changed);

#endif
