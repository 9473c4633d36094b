/* A binary heap of int indices (into the caller's own arrays), ordered by
 * the caller's rule: the scheduler's ready queues and the forecast's event
 * and ready queues. Pure. */
#ifndef SCHED_IHEAP_H
#define SCHED_IHEAP_H

/* 1 when index a goes before index b. */
typedef int (*iheap_first)(const void *ctx, int a, int b);

typedef struct {
    int *v;
    int n, cap;
    iheap_first first;
    const void *ctx;
} iheap;

void iheap_init(iheap *h, iheap_first first, const void *ctx);
void iheap_push(iheap *h, int x);
/* The first index; the heap must not be empty. */
int iheap_pop(iheap *h);
/* Order restored after the rule changed for every member. O(n). */
void iheap_rebuild(iheap *h);
void iheap_free(iheap *h);

#endif
