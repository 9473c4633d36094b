#include "status.h"

const char *orch_status_text(orch_status s)
{
    switch (s) {
    case ORCH_OK: return "ok";
    case ORCH_ERR_NOMEM: return "out of memory";
    case ORCH_ERR_INVALID: return "invalid input";
    case ORCH_ERR_TOO_BIG: return "over limit";
    case ORCH_ERR_NOT_FOUND: return "not found";
    case ORCH_ERR_CONFLICT: return "conflict";
    case ORCH_ERR_IO: return "i/o error";
    case ORCH_ERR_NATS: return "nats error";
    case ORCH_ERR_TIMEOUT: return "timeout";
    case ORCH_ERR_STOPPED: return "stopped";
    }
    return "unknown status";
}
