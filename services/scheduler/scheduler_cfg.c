/* The scheduler daemon's settings table: every scheduler.* key with its
 * default (the core's SCHED_DEF_* and BUDGET_DEF_* constants), bounds and
 * the field it fills (scheduler_nats.h declares them). One concern: what
 * can be configured; the adapter reads the result. */
#include <stddef.h>

#include "budget.h"
#include "cfg.h"
#include "schedule.h"
#include "scheduler_nats.h"

static const char *const mode_choices[] = {"continuous", "turns", NULL};
/* In the order of SCHED_ORDER_* (schedule.h). */
static const char *const order_choices[] = {"rank", "age", "downstream", NULL};
static const char *const format_choices[] = {"json", "protobuf", NULL};

scheduler_settings scheduler_cfg;

#define F(x) offsetof(scheduler_settings, x)
const cfg_entry scheduler_cfg_entries[] = {
    {"scheduler.window", CFG_INT, SCHED_TEXT(SCHED_DEF_WINDOW), 1, 100000, F(core.window), NULL, 0,
     "released-but-not-started requirements per agent type"},
    {"scheduler.overlap_percent", CFG_INT, SCHED_TEXT(SCHED_DEF_OVERLAP_PERCENT), 0, 100, F(core.overlap_percent), NULL, 0,
     "file overlap above which two requirements are serialized"},
    {"scheduler.max_attempts", CFG_INT, SCHED_TEXT(SCHED_DEF_MAX_ATTEMPTS), 1, 100, F(core.max_attempts), NULL, 0, "attempts before escalation"},
    {"scheduler.max_infra_retries", CFG_INT, SCHED_TEXT(SCHED_DEF_MAX_INFRA_RETRIES), 0, 100, F(core.max_infra_retries), NULL, 0,
     "verifier infrastructure errors retried before escalation"},
    {"scheduler.merge_train", CFG_BOOL, "true", 0, 0, F(core.merge_train), NULL, 0,
     "approved changes reach the base through the merge train, built by the verifiers (docs/merge.md); false: a "
     "release agent merges them"},
    {"scheduler.train_ahead", CFG_INT, SCHED_TEXT(SCHED_DEF_TRAIN_AHEAD), 1, 64, F(core.train_ahead), NULL, 0,
     "merge train: candidates built at once per project (about the verifiers' workers in all)"},
    {"scheduler.train_base_retry_ms", CFG_INT, SCHED_TEXT(SCHED_DEF_TRAIN_BASE_RETRY_MS), 1000, 86400000,
     F(core.train_base_retry_ms), NULL, 0, "merge train: a base failing on its own is built again after this"},
    {"scheduler.max_merge_refusals", CFG_INT, SCHED_TEXT(SCHED_DEF_MAX_MERGE_REFUSALS), 0, 100, F(core.max_merge_refusals), NULL,
     0, "merges refused (conflicts) before escalation; they are not counted as failed attempts"},
    {"scheduler.budget_factor_percent", CFG_INT, SCHED_TEXT(SCHED_DEF_BUDGET_FACTOR_PERCENT), 100, 1000, F(core.budget_factor_percent), NULL, 0,
     "a released requirement's token budget, as a share of its estimate"},
    {"scheduler.spawn_depth", CFG_INT, SCHED_TEXT(SCHED_DEF_SPAWN_DEPTH), 1, 100000, F(core.spawn_depth), NULL, 0,
     "ready queue depth above which more agents are asked for"},
    {"scheduler.spawn_max", CFG_INT, SCHED_TEXT(SCHED_DEF_SPAWN_MAX), 1, 100, F(core.spawn_max), NULL, 0, "agents asked for at most, per request"},
    {"scheduler.spawn_cooldown_s", CFG_INT, SCHED_TEXT(SCHED_DEF_SPAWN_COOLDOWN_S), 0, 86400, F(core.spawn_cooldown_s), NULL, 0,
     "least time between spawn requests for one type"},
    {"scheduler.host_lost_ms", CFG_INT, "15000", 2000, 3600000, F(host_lost_ms), NULL, 0,
     "an agent host silent longer is lost: its agents are declared gone, their work dispatched again (pool.h)"},
    {"scheduler.quiet_start", CFG_STR, SCHED_DEF_QUIET_START, 0, 5, F(quiet_start), NULL, 0, "start of the no-spawn window (HH:MM)"},
    {"scheduler.quiet_end", CFG_STR, SCHED_DEF_QUIET_END, 0, 5, F(quiet_end), NULL, 0, "end of the no-spawn window (HH:MM)"},
    {"scheduler.backoff_base_ms", CFG_INT, SCHED_TEXT(SCHED_DEF_BACKOFF_BASE_MS), 1, 3600000, F(core.backoff_base_ms), NULL, 0,
     "first retry delay after a transient failure; doubles per attempt"},
    {"scheduler.backoff_max_ms", CFG_INT, SCHED_TEXT(SCHED_DEF_BACKOFF_MAX_MS), 1, 86400000, F(core.backoff_max_ms), NULL, 0, "longest retry delay"},
    {"scheduler.mode", CFG_ENUM, "continuous", 0, 0, F(mode), mode_choices, 0,
     "continuous: act on every event; turns: release only every turn_minutes"},
    {"scheduler.release_order", CFG_ENUM, "rank", 0, 0, F(release_order), order_choices, 0,
     "within a priority: rank (most expected work behind it first), age (oldest first) or downstream (most "
     "dependents first)"},
    {"scheduler.reserve", CFG_BOOL, "true", 0, 0, F(core.reserve), NULL, 0,
     "with release_order rank: keep an agent free for more urgent work about to become ready instead of starting "
     "work that can wait (docs/scheduler.md)"},
    {"scheduler.turn_minutes", CFG_INT, SCHED_TEXT(SCHED_DEF_TURN_MINUTES), 1, 1440, F(core.turn_minutes), NULL, 0,
     "the turn cadence (releases at multiples of it past the hour)"},
    {"scheduler.turn_offsets", CFG_LIST, "", 0, 8, F(turn_offsets), NULL, 0,
     "turns mode: minutes into each cycle of the turn of backend, frontend, database, documentation, review, "
     "release (the seed's stagger: 0,5,10,15,20,25); empty: every type at the cycle's start"},
    {"scheduler.timezone", CFG_STR, "UTC", 0, 64, F(timezone), NULL, 0,
     "time zone of the budget day and the quiet window (e.g. Europe/Berlin)"},
    {"budget.total", CFG_INT, SCHED_TEXT(BUDGET_DEF_TOTAL), 0, 1000000000000LL, F(core.budget.total_limit), NULL, 0, "daily tokens in total"},
    {"budget.backend", CFG_INT, SCHED_TEXT(BUDGET_DEF_BACKEND), 0, 1000000000000LL, F(core.budget.limit[1]), NULL, 0, "daily tokens, backend"},
    {"budget.frontend", CFG_INT, SCHED_TEXT(BUDGET_DEF_FRONTEND), 0, 1000000000000LL, F(core.budget.limit[2]), NULL, 0, "daily tokens, frontend"},
    {"budget.database", CFG_INT, SCHED_TEXT(BUDGET_DEF_DATABASE), 0, 1000000000000LL, F(core.budget.limit[3]), NULL, 0, "daily tokens, database"},
    {"budget.documentation", CFG_INT, SCHED_TEXT(BUDGET_DEF_DOCUMENTATION), 0, 1000000000000LL, F(core.budget.limit[4]), NULL, 0,
     "daily tokens, documentation"},
    {"budget.review", CFG_INT, SCHED_TEXT(BUDGET_DEF_REVIEW), 0, 1000000000000LL, F(core.budget.limit[5]), NULL, 0, "daily tokens, review"},
    {"budget.release", CFG_INT, SCHED_TEXT(BUDGET_DEF_RELEASE), 0, 1000000000000LL, F(core.budget.limit[6]), NULL, 0, "daily tokens, release"},
    {"budget.total_usd", CFG_INT, "0", 0, 100000000, F(core.budget.total_limit_usd), NULL, 0,
     "daily US dollars in total (0: no dollar limit); conservation at conserve_percent, nothing released at 100%"},
    {"budget.backend_usd", CFG_INT, "0", 0, 100000000, F(core.budget.limit_usd[1]), NULL, 0, "daily US dollars, backend (0: none)"},
    {"budget.frontend_usd", CFG_INT, "0", 0, 100000000, F(core.budget.limit_usd[2]), NULL, 0, "daily US dollars, frontend (0: none)"},
    {"budget.database_usd", CFG_INT, "0", 0, 100000000, F(core.budget.limit_usd[3]), NULL, 0, "daily US dollars, database (0: none)"},
    {"budget.documentation_usd", CFG_INT, "0", 0, 100000000, F(core.budget.limit_usd[4]), NULL, 0,
     "daily US dollars, documentation (0: none)"},
    {"budget.review_usd", CFG_INT, "0", 0, 100000000, F(core.budget.limit_usd[5]), NULL, 0, "daily US dollars, review (0: none)"},
    {"budget.release_usd", CFG_INT, "0", 0, 100000000, F(core.budget.limit_usd[6]), NULL, 0, "daily US dollars, release (0: none)"},
    {"budget.requirement_tokens", CFG_INT, "0", 0, 1000000000000LL, F(core.requirement_max_tokens), NULL, 0,
     "most one requirement may use across all its attempts (0: no cap); past it, failed work is escalated, not retried"},
    {"budget.requirement_usd", CFG_INT, "0", 0, 100000000, F(core.requirement_max_usd), NULL, 0,
     "most one requirement may cost across all its attempts, in whole US dollars (0: no cap)"},
    {"budget.conserve_percent", CFG_INT, SCHED_TEXT(BUDGET_DEF_CONSERVE_PERCENT), 1, 100, F(core.budget.conserve_percent), NULL, 0,
     "share of the daily total that starts conservation mode"},
    {"scheduler.format", CFG_ENUM, "json", 0, 0, F(format), format_choices, 0,
     "what requirements.<type>.<id> carries: the seed's JSON or protobuf"},
    {"scheduler.batch", CFG_INT, "64", 1, 1000, F(batch), NULL, 0, "messages fetched at once per input"},
    {"scheduler.lease_refresh_ms", CFG_INT, "3000", 100, 9000, F(lease_refresh_ms), NULL, 0,
     "how often the leader renews its 10 s lease"},
    {"budget.charge_message_percent", CFG_INT, SCHED_TEXT(SCHED_DEF_CHARGE_MESSAGE_PERCENT), 1, 100000, F(core.charge_message_percent), NULL, 0,
     "most one heartbeat may charge, as a share of the work's token budget"},
    {"budget.charge_attempt_percent", CFG_INT, SCHED_TEXT(SCHED_DEF_CHARGE_ATTEMPT_PERCENT), 1, 100000, F(core.charge_attempt_percent), NULL, 0,
     "most one attempt (or one review of it) may charge in all, as a share of its token budget"},
    {"budget.idle_day_percent", CFG_INT, SCHED_TEXT(SCHED_DEF_IDLE_DAY_PERCENT), 0, 100, F(core.idle_day_percent), NULL, 0,
     "most an idle agent instance may charge a day, as a share of its type's daily limit"},
    {"scheduler.retention_s", CFG_INT, SCHED_TEXT(SCHED_DEF_RETENTION_S), 0, 31536000, F(core.retention_s), NULL, 0,
     "finished requirements stay in memory this long (0: forever); their state stays in KV"},
    {"scheduler.list_limit", CFG_INT, "500", 1, 10000, F(list_limit), NULL, 0,
     "requirements per page of orch.scheduler.list when the request names no limit"},
};
const size_t scheduler_cfg_count = sizeof(scheduler_cfg_entries) / sizeof(scheduler_cfg_entries[0]);
