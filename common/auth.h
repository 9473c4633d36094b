/* Who a connection says it is, decided before it is made (pure: no NATS,
 * no log). deploy/nats.conf gives every identity its own inbox prefix,
 * _INBOX_<user>, and lets it subscribe to nothing else of the kind: what
 * JetStream delivers to one identity (pull fetches, KV and API replies) can
 * then not be read by another. A connection without any credentials is
 * for tests and a laptop: nc_connect warns when it goes to a server that
 * is not on this machine's loopback (README, "Authentication"). */
#ifndef ORCH_AUTH_H
#define ORCH_AUTH_H

#include <stddef.h>

#include "svccfg.h"

/* 1 when cfg names any way to authenticate: a user, a token, a creds file
 * or an nkey seed. */
int auth_has_credentials(const svc_cfg *cfg);

/* 1 when the host of url ("nats://[user:pass@]host[:port]", the scheme
 * optional) is on loopback: localhost, 127.0.0.0/8 or ::1. 0 for any other
 * host and for NULL or a URL without one. */
int auth_url_is_loopback(const char *url);

/* The inbox prefix of user: "_INBOX_<user>" (nats.c adds ".<unique>").
 * Returns the length written, or 0 (out "") when user is NULL, empty, or
 * not one subject token of letters, digits, '-' and '_' (the default
 * prefix _INBOX is used then), or when out is too short. */
size_t auth_inbox_prefix(const char *user, char *out, size_t len);

#endif
