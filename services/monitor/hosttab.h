/* The pool of agent hosts as the monitor shows it: the latest advert of
 * each host (hosts.<host id>, common/hostad.h) and when it was heard. Pure:
 * the caller gives the advert, already read and checked, and the time. At
 * most HOSTTAB_MAX hosts: a new host when full takes the place of the one
 * heard longest ago. */
#ifndef MONITOR_HOSTTAB_H
#define MONITOR_HOSTTAB_H

#include <stdint.h>

#include "dashboard.h"
#include "hostad.h"

#define HOSTTAB_MAX 64

typedef struct {
    dash_host h[HOSTTAB_MAX];
    int n;
} hosttab;

/* a was heard at now. */
void hosttab_note(hosttab *t, const hostad *a, int64_t now);

/* The hosts heard within forget_ms of now, by host id, into out (at most
 * max); returns how many. */
int hosttab_list(const hosttab *t, int64_t now, int64_t forget_ms, dash_host *out, int max);

#endif
