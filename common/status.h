/* One status type for the whole suite, with a text for each value. */
#ifndef ORCH_STATUS_H
#define ORCH_STATUS_H

/* Size of the caller-supplied buffer a function fills to explain a failure. */
#define ERR_LEN 512

typedef enum {
    ORCH_OK = 0,
    ORCH_ERR_NOMEM,      /* allocation failed */
    ORCH_ERR_INVALID,    /* bad input: the err buffer says what and where */
    ORCH_ERR_TOO_BIG,    /* input over a configured limit */
    ORCH_ERR_NOT_FOUND,
    ORCH_ERR_CONFLICT,   /* compare-and-set lost a race; retry */
    ORCH_ERR_IO,         /* file or process error */
    ORCH_ERR_NATS,       /* the NATS library or server refused */
    ORCH_ERR_TIMEOUT,
    ORCH_ERR_STOPPED     /* shutdown was requested */
} orch_status;

/* Static text for a status; never NULL. */
const char *orch_status_text(orch_status s);

#endif
