/* Exponential backoff with jitter: see backoff.h. */
#include "backoff.h"

int64_t backoff_step_ms(int64_t base_ms, int64_t max_ms, uint64_t attempt)
{
    int64_t d = base_ms > 0 ? base_ms : 1;
    if (max_ms < d)
        max_ms = d;
    /* Doubling stops at the cap, so d never exceeds 2 * max_ms / 2 = max_ms
     * before the check: no overflow for any attempt. */
    for (uint64_t i = 1; i < attempt && d < max_ms; i++)
        d = d > max_ms / 2 ? max_ms : d * 2;
    return d;
}

int64_t backoff_ms(int64_t base_ms, int64_t max_ms, uint64_t attempt, uint32_t draw)
{
    uint64_t step = (uint64_t)backoff_step_ms(base_ms, max_ms, attempt);
    uint64_t half = step - step / 2;
    /* half * draw / 2^32 in 64 bits: half may exceed 2^32, so split it. */
    uint64_t spread = (half >> 32) * draw + (((half & 0xffffffffULL) * draw) >> 32);
    return (int64_t)(step / 2 + spread);
}

uint32_t backoff_draw(double unit)
{
    if (!(unit > 0.0))
        return 0;
    /* Near 1 the product rounds up to 2^32, which does not fit. */
    if (unit * 4294967296.0 >= 4294967295.0)
        return UINT32_MAX;
    return (uint32_t)(unit * 4294967296.0);
}
