/* orchctl's own header: what its command files share (main.c holds the
 * connection, the reply helpers, submit and the command table; view.c the
 * status, dashboard, agents and summary printing with the ETA lines;
 * roadmap_cmd.c the roadmap import and sync). Not a library. */
#ifndef ORCHCTL_CTL_H
#define ORCHCTL_CTL_H

#include <stddef.h>

#include <cjson/cJSON.h>
#include <nats/nats.h>

#include "svccfg.h"

/* Exit codes: 0 success, 1 the operation failed (an error line on
 * stderr), 2 bad usage, 3 NATS unreachable. */
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_NATS 3

typedef struct {
    natsConnection *nc;
    svc_cfg cfg;
    int tried;        /* ctl_connect was called: the NATS library is open */
} ctl;

/* Connects on first use; 0 or EXIT_NATS (said on stderr). Every command
 * checks its arguments before it calls this, so bad usage is exit 2 even
 * with NATS down. */
int ctl_connect(ctl *c);

/* o's string k, borrowed; "" when it is missing or not a string. */
const char *jstr(const cJSON *o, const char *k);

/* An argument a command does not take: said on stderr; EXIT_USAGE. */
int bad_arg(const char *cmd, const char *arg);

/* Whether s can be a requirement id in a subject token. */
int id_ok(const char *s);

/* A reply's JSON with every string made safe to print (text_printable);
 * NULL when it is not JSON. The caller deletes it. */
cJSON *parse_reply(const char *data, size_t len);

/* A request whose answer is JSON or a service error: *out the answer
 * (the caller deletes it), or the error said on stderr. Returns the exit
 * code. */
int request_json(ctl *c, const char *subject, const char *body, cJSON **out);

/* A whole file ("-": standard input) of at most max bytes, malloc'd; a
 * larger one is refused, never cut. NULL, said on stderr, when it fails. */
char *slurp(const char *path, size_t max, size_t *len);

/* Publishes body as intake and prints what the router made of it (main.c
 * has the details). Returns the exit code. */
int submit_body(ctl *c, const char *body, size_t len, const char *ctype);
/* The same; whole_refused not NULL: a refusal of the whole message is not
 * said but flagged there (the caller sends its items again one by one);
 * labels (nlabels of them; may be NULL) name what was sent, item by item,
 * where a refusal names no id; *refused (may be NULL) adds the items
 * refused one by one. */
int submit_body_as(ctl *c, const char *body, size_t len, const char *ctype, int *whole_refused,
                   const char *const *labels, int nlabels, int *refused);

/* The commands outside main.c (argv[0] is the command's name). */
int cmd_status(ctl *c, int argc, char **argv);
int cmd_dashboard(ctl *c, int argc, char **argv);
int cmd_agents(ctl *c, int argc, char **argv);
int cmd_summary(ctl *c, int argc, char **argv);
int cmd_roadmap(ctl *c, int argc, char **argv);
int cmd_hosts(ctl *c, int argc, char **argv);   /* hosts.c */
/* people.c: decisions of people (orch.decide.*) */
int cmd_pause(ctl *c, int argc, char **argv);
int cmd_resume(ctl *c, int argc, char **argv);
int cmd_cancel(ctl *c, int argc, char **argv);
int cmd_priority(ctl *c, int argc, char **argv);
/* The "paused" array of an answer (quiet: nothing when none); a state's
 * "decisions", one line each. */
void people_print_pauses(const cJSON *o, int quiet);
void people_print_decisions(const cJSON *o);

#endif
