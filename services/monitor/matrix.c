#include "matrix.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "hash.h"
#include "text.h"

#define MAX_ANSWER (64 * 1024)

void matrix_parse(long status, const char *retry_after_header, const char *body, size_t len, mx_result *r)
{
    cJSON *j = body && len ? cJSON_ParseWithLength(body, len) : NULL;
    const char *errcode = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "errcode")) : NULL;
    const char *error = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "error")) : NULL;

    memset(r, 0, sizeof(*r));
    if (status == 0) {
        r->outcome = MX_BACKOFF;
        /* body has a length, not a terminator */
        snprintf(r->detail, sizeof(r->detail), "no answer: %.*s", (int)(body ? (len < 200 ? len : 200) : 0),
                 body ? body : "");
    } else if (status >= 200 && status < 300) {
        const char *ev = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "event_id")) : NULL;
        if (ev && ev[0] == '$' && strlen(ev) < sizeof(r->event_id)) {
            r->outcome = MX_SENT;
            snprintf(r->event_id, sizeof(r->event_id), "%s", ev);
        } else {
            r->outcome = MX_BACKOFF;
            snprintf(r->detail, sizeof(r->detail), "answer %ld without an event id (%s)", status,
                     j ? "no event_id" : "not JSON");
        }
    } else if (status >= 300 && status < 400) {
        r->outcome = MX_BACKOFF;
        snprintf(r->detail, sizeof(r->detail), "redirect %ld not followed", status);
    } else if (status == 429) {
        const cJSON *ms = j ? cJSON_GetObjectItem(j, "retry_after_ms") : NULL;
        r->outcome = MX_RETRY_AFTER;
        if (cJSON_IsNumber(ms) && ms->valuedouble >= 0)
            r->retry_ms = (int64_t)ms->valuedouble;
        else if (retry_after_header && isdigit((unsigned char)*retry_after_header))
            r->retry_ms = strtoll(retry_after_header, NULL, 10) * 1000;
        else
            r->retry_ms = 5000; /* rate limited without saying for how long */
        if (r->retry_ms > 3600 * 1000)
            r->retry_ms = 3600 * 1000;
        snprintf(r->detail, sizeof(r->detail), "rate limited (%s): retry in %lld ms", errcode ? errcode : "429",
                 (long long)r->retry_ms);
    } else if (status >= 500) {
        r->outcome = MX_BACKOFF;
        snprintf(r->detail, sizeof(r->detail), "homeserver error %ld%s%s", status, errcode ? ": " : "",
                 errcode ? errcode : "");
    } else {
        r->outcome = MX_REFUSED;
        snprintf(r->detail, sizeof(r->detail), "refused %ld: %s %.200s", status, errcode ? errcode : "(no errcode)",
                 error ? error : "");
    }
    cJSON_Delete(j);
}

/* scheme://host[:port] of url into its parts; 0 when it is not one. */
static int origin(const char *url, char *scheme, size_t slen, char *host, size_t hlen, long *port)
{
    const char *p = strstr(url, "://"), *h, *end;
    size_t n;
    if (!p || (size_t)(p - url) >= slen)
        return 0;
    memcpy(scheme, url, (size_t)(p - url));
    scheme[p - url] = '\0';
    for (char *c = scheme; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    h = p + 3;
    end = h + strcspn(h, "/?#");
    if (memchr(h, '@', (size_t)(end - h)))
        return 0; /* credentials in a redirect: never ours */
    if (*h == '[') {
        const char *close = memchr(h, ']', (size_t)(end - h));
        if (!close)
            return 0;
        n = (size_t)(close + 1 - h);
    } else {
        n = strcspn(h, ":/?#");
    }
    if (n == 0 || n >= hlen)
        return 0;
    for (size_t i = 0; i < n; i++)
        host[i] = (char)tolower((unsigned char)h[i]);
    host[n] = '\0';
    if (h[n] == ':') {
        char *e;
        *port = strtol(h + n + 1, &e, 10);
        if (e != end || *port <= 0 || *port > 65535)
            return 0;
    } else {
        *port = !strcmp(scheme, "https") ? 443 : !strcmp(scheme, "http") ? 80 : -1;
    }
    return 1;
}

int matrix_same_origin(const char *base, const char *url)
{
    char s1[16], s2[16], h1[256], h2[256];
    long p1, p2;
    if (!base || !url || !origin(base, s1, sizeof(s1), h1, sizeof(h1), &p1) ||
        !origin(url, s2, sizeof(s2), h2, sizeof(h2), &p2))
        return 0;
    return !strcmp(s1, s2) && !strcmp(h1, h2) && p1 == p2 && p1 > 0;
}

int64_t matrix_retry_delay(const mx_result *r, uint64_t attempt, int64_t base_ms, int64_t max_ms, double rand01)
{
    /* jitter spreads retries of several senders; never under the floor */
    int64_t d = backoff_ms(base_ms, max_ms, attempt, backoff_draw(rand01));
    if (d < base_ms)
        d = base_ms;
    if (r->outcome == MX_RETRY_AFTER && r->retry_ms > d)
        d = r->retry_ms; /* the homeserver asked for longer */
    return d > 0 ? d : 1;
}

int matrix_throttle(mx_throttle *t, int64_t now, int64_t every_ms, long *suppressed)
{
    if (t->last_ms && now - t->last_ms < every_ms) {
        t->suppressed++;
        return 0;
    }
    *suppressed = t->suppressed;
    t->suppressed = 0;
    t->last_ms = now;
    return 1;
}

char *matrix_html_escape(const char *t)
{
    size_t n = 0;
    char *out, *p;
    for (const char *s = t; *s; s++)
        n += *s == '<' || *s == '>' ? 4 : *s == '&' ? 5 : *s == '"' ? 6 : *s == '\n' ? 4 : 1;
    out = p = xmalloc(n + 1);
    for (const char *s = t; *s; s++) {
        switch (*s) {
        case '<': memcpy(p, "&lt;", 4); p += 4; break;
        case '>': memcpy(p, "&gt;", 4); p += 4; break;
        case '&': memcpy(p, "&amp;", 5); p += 5; break;
        case '"': memcpy(p, "&quot;", 6); p += 6; break;
        case '\n': memcpy(p, "<br>", 4); p += 4; break;
        default: *p++ = *s;
        }
    }
    *p = '\0';
    return out;
}

char *matrix_body(const char *body, const char *html, const char *thread_event)
{
    cJSON *o = cJSON_CreateObject();
    char *txt;
    cJSON_AddStringToObject(o, "msgtype", "m.text");
    cJSON_AddStringToObject(o, "body", body);
    cJSON_AddStringToObject(o, "format", "org.matrix.custom.html");
    cJSON_AddStringToObject(o, "formatted_body", html);
    if (thread_event && *thread_event) {
        cJSON *rel = cJSON_AddObjectToObject(o, "m.relates_to");
        cJSON *reply = cJSON_CreateObject();
        cJSON_AddStringToObject(rel, "rel_type", "m.thread");
        cJSON_AddStringToObject(rel, "event_id", thread_event);
        cJSON_AddBoolToObject(rel, "is_falling_back", 1);
        cJSON_AddStringToObject(reply, "event_id", thread_event);
        cJSON_AddItemToObject(rel, "m.in_reply_to", reply);
    }
    txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return txt;
}

typedef struct {
    char *buf;
    size_t len;
    char retry_after[32];
} answer;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    answer *a = arg;
    size_t k = size * n;
    if (a->len + k > MAX_ANSWER)
        return 0; /* a bounded answer: more is not a homeserver's */
    a->buf = xrealloc(a->buf, a->len + k + 1);
    memcpy(a->buf + a->len, p, k);
    a->len += k;
    a->buf[a->len] = '\0';
    return k;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    answer *a = arg;
    size_t k = size * n;
    if (k > 12 && !strncasecmp(p, "Retry-After:", 12)) {
        const char *v = p + 12;
        while (*v == ' ')
            v++;
        snprintf(a->retry_after, sizeof(a->retry_after), "%.*s", (int)(k - (size_t)(v - p)), v);
    }
    return k;
}

void matrix_send(const matrix_cfg *c, const char *txn, const char *body, const char *html, const char *thread_event,
                 mx_result *r)
{
    CURL *h = curl_easy_init();
    char *room = NULL, *tx = NULL, *url = NULL, *json = NULL, *auth = NULL;
    struct curl_slist *hdr = NULL;
    answer a = {NULL, 0, ""};
    long status = 0;
    CURLcode rc;

    if (!h) {
        matrix_parse(0, NULL, "cannot start libcurl", 20, r);
        return;
    }
    room = curl_easy_escape(h, c->room, 0);
    tx = curl_easy_escape(h, txn, 0);
    url = xmalloc(strlen(c->homeserver) + strlen(room) + strlen(tx) + 80);
    sprintf(url, "%s/_matrix/client/v3/rooms/%s/send/m.room.message/%s", c->homeserver, room, tx);
    auth = xmalloc(strlen(c->token) + 32);
    sprintf(auth, "Authorization: Bearer %s", c->token);
    hdr = curl_slist_append(hdr, auth);
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    json = matrix_body(body, html, thread_event);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &a);
    for (int hop = 0;; hop++) {
        char *next = NULL;
        free(a.buf);
        a.buf = NULL;
        a.len = 0;
        a.retry_after[0] = '\0';
        rc = curl_easy_perform(h);
        if (rc != CURLE_OK) {
            const char *e = curl_easy_strerror(rc);
            matrix_parse(0, NULL, e, strlen(e), r);
            break;
        }
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        /* 303 means "fetch something else with GET": not a place to PUT */
        if ((status == 301 || status == 302 || status == 307 || status == 308) &&
            curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &next) == CURLE_OK && next) {
            if (!matrix_same_origin(c->homeserver, next)) {
                matrix_parse(status, NULL, NULL, 0, r);
                snprintf(r->detail, sizeof(r->detail),
                         "redirect %ld to another origin not followed (the token is the homeserver's): %.200s", status,
                         next);
                break;
            }
            if (hop < MATRIX_MAX_REDIRECTS) {
                curl_easy_setopt(h, CURLOPT_URL, next); /* libcurl copies it */
                continue;
            }
            matrix_parse(status, NULL, NULL, 0, r);
            snprintf(r->detail, sizeof(r->detail), "more than %d redirects", MATRIX_MAX_REDIRECTS);
            break;
        }
        matrix_parse(status, a.retry_after[0] ? a.retry_after : NULL, a.buf, a.len, r);
        break;
    }
    curl_free(room);
    curl_free(tx);
    curl_slist_free_all(hdr);
    /* the token was in auth: wipe it before freeing */
    memset(auth, 0, strlen(auth));
    free(auth);
    free(url);
    free(json);
    free(a.buf);
    curl_easy_cleanup(h);
}

void matrix_txn(const char *msg_id, const char *fingerprint, char *out, size_t len)
{
    const char *key = msg_id && *msg_id ? msg_id : fingerprint ? fingerprint : "";
    snprintf(out, len, "orch-%016llx", (unsigned long long)hash_fnv1a64_str(HASH_FNV1A64_INIT, key));
}

void matrix_event_key(const char *fp, char *out, size_t len)
{
    snprintf(out, len, "event-%016llx", (unsigned long long)hash_fnv1a64_str(HASH_FNV1A64_INIT, fp));
}
