/* Exponential backoff with jitter: the one retry delay of the suite.
 *
 * The step of attempt n (counting from 1) is base_ms doubled n-1 times,
 * capped at max_ms. The delay is drawn from the upper half of the step,
 * [step/2, step): never less than half, so a retry storm still backs off;
 * spread over the other half, so several senders that failed together do
 * not come back together (the "equal jitter" of the AWS architecture blog's
 * "Exponential Backoff And Jitter").
 *
 * The random draw is an argument, not a call to rand(): an adapter passes a
 * random 32-bit value, a pure core passes something deterministic (a hash of
 * the work's id and attempt, so two replicas agree and a test can pin it),
 * and a unit test checks the bounds with 0 and UINT32_MAX.
 *
 * Pure: no clock, no state. */
#ifndef ORCH_BACKOFF_H
#define ORCH_BACKOFF_H

#include <stdint.h>

/* The step of attempt (from 1; 0 counts as 1): base_ms * 2^(attempt-1),
 * capped at max_ms, without overflow however large attempt is. base_ms
 * under 1 counts as 1; max_ms under base_ms counts as base_ms. */
int64_t backoff_step_ms(int64_t base_ms, int64_t max_ms, uint64_t attempt);

/* The delay before retrying after attempt: step/2 + (step - step/2) * draw /
 * 2^32, so within [step/2, step) for step >= 2; draw 0 gives step/2 exactly.
 * Arguments as backoff_step_ms. */
int64_t backoff_ms(int64_t base_ms, int64_t max_ms, uint64_t attempt, uint32_t draw);

/* A draw from a fraction in [0, 1) (as from rand() / (RAND_MAX + 1.0));
 * values outside are clamped. */
uint32_t backoff_draw(double unit);

#endif
