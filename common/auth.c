/* Credentials and inbox prefixes (see auth.h). */
#include "auth.h"

#include <stdio.h>
#include <string.h>

#define INBOX_PREFIX "_INBOX_"

int auth_has_credentials(const svc_cfg *cfg)
{
    return cfg && ((cfg->nats_user && *cfg->nats_user) || (cfg->nats_token && *cfg->nats_token) ||
                   (cfg->nats_creds && *cfg->nats_creds) || (cfg->nats_nkey_seed && *cfg->nats_nkey_seed));
}

int auth_url_is_loopback(const char *url)
{
    char host[256];
    const char *p, *at, *end;
    size_t n;

    if (!url)
        return 0;
    p = strstr(url, "://");
    p = p ? p + 3 : url;
    end = p + strcspn(p, "/?#");
    at = memchr(p, '@', (size_t)(end - p));
    if (at)
        p = at + 1;
    if (*p == '[') { /* [::1]:4222 */
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (!close)
            return 0;
        n = (size_t)(close - p - 1);
        p++;
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        n = (size_t)((colon ? colon : end) - p);
    }
    if (n == 0 || n >= sizeof(host))
        return 0;
    memcpy(host, p, n);
    host[n] = '\0';
    if (!strcmp(host, "localhost") || !strcmp(host, "::1"))
        return 1;
    if (strncmp(host, "127.", 4) != 0)
        return 0;
    for (const char *c = host + 4; *c; c++) /* 127.a.b.c: digits and dots only */
        if (!((*c >= '0' && *c <= '9') || *c == '.'))
            return 0;
    return 1;
}

size_t auth_inbox_prefix(const char *user, char *out, size_t len)
{
    size_t n;
    if (len)
        out[0] = '\0';
    if (!user || !*user)
        return 0;
    for (const char *c = user; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
              *c == '_'))
            return 0;
    n = strlen(INBOX_PREFIX) + strlen(user);
    if (n >= len)
        return 0;
    snprintf(out, len, "%s%s", INBOX_PREFIX, user);
    return n;
}
