#include "daemon.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "log.h"
#include "nc.h"
#include "provision.h"
#include "text.h"

static volatile sig_atomic_t stop_flag = 0;

static void on_signal(int sig)
{
    int saved = errno;
    (void)sig;
    stop_flag = 1;
    errno = saved;
}

int daemon_stopping(void) { return stop_flag != 0; }

static void usage(FILE *out, const daemon_spec *spec, const cfg_table *t, size_t nt)
{
    fprintf(out,
            "Usage: orch-%s [--config FILE] [--help] [--version]\n"
            "%s\n\n"
            "  -c, --config FILE  JSON settings file (environment ORCH_* variables override it)\n"
            "  -h, --help         this text\n"
            "  -V, --version      print the version\n\n",
            spec->name, spec->description);
    cfg_print_help(out, t, nt);
}

static void default_instance(char *buf, size_t len)
{
    char host[64] = "host";
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    for (char *p = host; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-'))
            *p = '-';
    snprintf(buf, len, "%.40s-%ld", host, (long)getpid());
}

typedef struct {
    long long timeout_ms;
} watchdog_arg;

/* Started when a stop begins: whatever hangs, the process ends in time. */
static void *watchdog(void *p)
{
    const watchdog_arg *a = p;
    struct timespec ts = {a->timeout_ms / 1000, (a->timeout_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    log_error("graceful stop took longer than %lld ms: exiting now", a->timeout_ms);
    _exit(1);
    return NULL;
}

/* Provisioning needs a server; at start it may not be up yet. Retry until it
 * answers or a stop is requested. */
static orch_status provision_retry(daemon_ctx *d)
{
    char err[ERR_LEN];
    int attempt = 0;

    for (;;) {
        provision_report rep;
        orch_status st;
        /* While disconnected every request would wait its full timeout and
         * delay a stop; wait for the connection instead. */
        while (natsConnection_Status(d->nc) != NATS_CONN_STATUS_CONNECTED && !stop_flag)
            nats_Sleep(100);
        if (stop_flag)
            return ORCH_ERR_STOPPED;
        st = provision_all(d->js, (int)d->cfg.replicas, &rep, err);
        if (st == ORCH_OK) {
            log_info("jetstream: %d created, %d updated, %d unchanged", rep.created, rep.updated, rep.unchanged);
            return ORCH_OK;
        }
        if (st == ORCH_ERR_INVALID) {
            log_error("%s", err);
            return st;
        }
        if (attempt++ % 10 == 0)
            log_warn("jetstream not ready, retrying: %s", err);
        for (int i = 0; i < 10 && !stop_flag; i++)
            nats_Sleep(100);
        if (stop_flag)
            return ORCH_ERR_STOPPED;
    }
}

/* --- the topology watch --------------------------------------------------------------
 *
 * A stream, consumer or bucket can vanish under running services: someone
 * deletes it by hand, or nats-server comes back with an empty store (a
 * wiped volume) and every client simply reconnects. Nothing else would say
 * so: a fetch from a deleted consumer times out exactly like one from an
 * idle consumer. So every WATCH_MS, and at once after any reconnect, the
 * daemon asks the server what it has (provision_find_missing: about ten
 * small requests). Each object that went missing is logged (one line
 * naming it), the topology is provisioned again when jetstream.provision
 * is on, and one critical alert (alerts.critical.topology_missing) says
 * what was lost. Instances that repair the same loss name their alert
 * after the creation times of the objects they find re-created, which
 * they all read alike, so the ALERTS stream stores it once. The services
 * need no hook: a pull subscription asks for messages by stream and
 * durable name, so it fetches again as soon as the durable is back. */
#define WATCH_MS 5000
#define WATCH_RETRY_MS 1000
#define WATCH_WAIT_MS 1000
#define ALERT_WAIT_MS 2000

typedef struct {
    daemon_ctx *d;
    const char *svc_name;
    pthread_t thread;
    int started;
    atomic_int run;
    int failures;
    provision_missing known;   /* missing at the last round: logged and alerted already */
} watch;

static int known_missing(const provision_missing *m, int id)
{
    for (int i = 0; i < m->n; i++)
        if (m->obj[i].id == id)
            return 1;
    return 0;
}

/* One alert for the objects that went missing since the last round. */
static void alert_lost(watch *w, const provision_missing *lost, int repaired)
{
    daemon_ctx *d = w->d;
    char summary[400], text[800], fp[96];
    size_t used;
    uint64_t stamp = repaired ? provision_stamp(d->js, lost) : 0;

    used = (size_t)snprintf(summary, sizeof(summary), "JetStream lost %d object%s:", lost->n, lost->n == 1 ? "" : "s");
    for (int i = 0; i < lost->n && used < sizeof(summary); i++) {
        int room = (int)(sizeof(summary) - used);
        int n = snprintf(summary + used, (size_t)room, "%s %s %s", i ? "," : "",
                         provision_kind_name(lost->obj[i].kind), lost->obj[i].name);
        if (n >= room || used + (size_t)n > sizeof(summary) - 24) {
            snprintf(summary + used, (size_t)room, " and %d more", lost->n - i);
            break;
        }
        used += (size_t)n;
    }
    if (repaired)
        snprintf(text, sizeof(text), "%s. %s %s created them again (jetstream.provision is on); whatever they "
                 "held is gone.", summary, w->svc_name, d->cfg.instance);
    else
        snprintf(text, sizeof(text), "%s. jetstream.provision is off: nothing flows through them until they are "
                 "created again (start a service with provisioning on, or create them by hand).", summary);
    if (!stamp) {
        /* Not repaired: instances that notice in the same minute agree. */
        stamp = (uint64_t)(text_now_ms() / 60000);
        for (int i = 0; i < lost->n; i++)
            stamp = hash_fnv1a64_str(stamp, lost->obj[i].name);
    }
    snprintf(fp, sizeof(fp), "topology_missing:%016llx", (unsigned long long)stamp);
    nc_publish_alert(d->js, names_severity(ORCHESTRATOR__V1__SEVERITY__SEVERITY_CRITICAL),
                     names_alert_kind_token(NAMES_ALERT_TOPOLOGY_MISSING), fp, summary, text, w->svc_name, d->cfg.instance,
                     ALERT_WAIT_MS);
}

/* Returns 0 when the server answered (and what was missing is handled). */
static int watch_round(watch *w)
{
    daemon_ctx *d = w->d;
    provision_missing now, lost;
    char err[ERR_LEN];
    int repaired = 0;

    if (provision_find_missing(d->js, WATCH_WAIT_MS, &now, err) != ORCH_OK) {
        if (w->failures++ % 10 == 0)
            log_warn("topology check: %s", err);
        return -1;
    }
    w->failures = 0;
    lost.n = 0;
    for (int i = 0; i < now.n; i++)
        if (!known_missing(&w->known, now.obj[i].id)) {
            log_error("jetstream: %s %s is missing", provision_kind_name(now.obj[i].kind), now.obj[i].name);
            lost.obj[lost.n++] = now.obj[i];
        }
    for (int i = 0; i < w->known.n; i++)
        if (!known_missing(&now, w->known.obj[i].id))
            log_info("jetstream: %s %s is there again", provision_kind_name(w->known.obj[i].kind),
                     w->known.obj[i].name);
    if (now.n > 0 && d->cfg.provision) {
        provision_report rep;
        if (provision_all(d->js, (int)d->cfg.replicas, &rep, err) == ORCH_OK) {
            log_info("jetstream: provisioned again: %d created, %d updated, %d unchanged", rep.created,
                     rep.updated, rep.unchanged);
            repaired = 1;
        } else {
            log_error("jetstream: provisioning again failed, retrying: %s", err);
        }
    }
    if (lost.n > 0)
        alert_lost(w, &lost, repaired);
    /* What was repaired is no longer known missing: losing it again is a
     * new loss. What is still missing is retried, not alerted again. */
    if (repaired)
        w->known.n = 0;
    else
        w->known = now;
    return 0;
}

static void *watch_main(void *p)
{
    watch *w = p;
    int seen = nc_reconnect_count();
    int64_t next = nats_Now() + WATCH_MS;

    while (atomic_load(&w->run) && !stop_flag) {
        int r = nc_reconnect_count();
        nats_Sleep(100);
        if (r != seen) {
            seen = r;
            next = 0;
        }
        if (nats_Now() < next)
            continue;
        if (natsConnection_Status(w->d->nc) != NATS_CONN_STATUS_CONNECTED) {
            next = nats_Now() + WATCH_RETRY_MS;
            continue;
        }
        next = nats_Now() + (watch_round(w) == 0 ? WATCH_MS : WATCH_RETRY_MS);
    }
    return NULL;
}

static void watch_start(watch *w, daemon_ctx *d, const char *svc_name)
{
    memset(w, 0, sizeof(*w));
    w->d = d;
    w->svc_name = svc_name;
    atomic_store(&w->run, 1);
    if (pthread_create(&w->thread, NULL, watch_main, w) == 0)
        w->started = 1;
    else
        log_error("topology watch: cannot start a thread; a lost stream or consumer will not be noticed");
}

/* Before the JetStream context goes: the watch uses it. */
static void watch_stop(watch *w)
{
    if (!w->started)
        return;
    atomic_store(&w->run, 0);
    pthread_join(w->thread, NULL);
    w->started = 0;
}

int daemon_main(const daemon_spec *spec, int argc, char **argv)
{
    daemon_ctx d;
    cfg_table tables[2];
    size_t nt = 0;
    const char *config_path = NULL;
    char err[ERR_LEN];
    char inst[64];
    char svc_name[64];
    int rc = 1;
    struct sigaction sa;
    pthread_t wd;
    static watchdog_arg wa; /* the detached watchdog may read it after this returns */
    static watch w; /* large; one per process */

    memset(&d, 0, sizeof(d));
    tables[nt++] = (cfg_table){svc_cfg_entries, svc_cfg_count, &d.cfg};
    if (spec->entries)
        tables[nt++] = (cfg_table){spec->entries, spec->n_entries, spec->settings};

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout, spec, tables, nt);
            return 0;
        }
        if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
            printf("orch-%s %s\n", spec->name, ORCH_VERSION);
            return 0;
        }
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
            config_path = argv[++i];
            continue;
        }
        if (!strncmp(argv[i], "--config=", 9)) {
            config_path = argv[i] + 9;
            continue;
        }
        fprintf(stderr, "orch-%s: unknown argument '%s' (try --help)\n", spec->name, argv[i]);
        return 2;
    }
    d.config_path = config_path;

    if (cfg_load(tables, nt, config_path, err) != ORCH_OK) {
        fprintf(stderr, "orch-%s: %s\n", spec->name, err);
        cfg_free(tables, nt);
        return 2;
    }
    if (!d.cfg.instance) {
        default_instance(inst, sizeof(inst));
        d.cfg.instance = xstrdup(inst);
    } else if (!text_id_valid(d.cfg.instance, 64, err, sizeof(err))) {
        fprintf(stderr, "orch-%s: key 'service.instance': '%s' %s\n", spec->name, d.cfg.instance, err);
        cfg_free(tables, nt);
        return 2;
    }
    snprintf(svc_name, sizeof(svc_name), "orch-%s", spec->name);
    log_init(spec->name, d.cfg.instance, (log_level)d.cfg.log_level);
    log_info("starting %s %s (config: %s)", svc_name, ORCH_VERSION,
             config_path ? config_path : "defaults and environment");

    /* Signals before anything that can block, so an early SIGTERM is seen. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (nc_connect(&d.nc, &d.cfg, svc_name, 0, err) != ORCH_OK ||
        nc_connect(&d.rr, &d.cfg, svc_name, NC_SEND_ASAP, err) != ORCH_OK) {
        log_error("%s", err);
        goto out;
    }
    {
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = 5000;
        jo.Domain = d.cfg.js_domain; /* an agent host's leaf node reaches the hub's streams through it */
        if (natsConnection_JetStream(&d.js, d.nc, &jo) != NATS_OK) {
            log_error("jetstream context: %s", nats_GetLastError(NULL));
            goto out;
        }
    }
    if (d.cfg.provision) {
        orch_status st = provision_retry(&d);
        if (st == ORCH_ERR_STOPPED) {
            rc = 0;
            goto out;
        }
        if (st != ORCH_OK)
            goto out;
    }
    if (srv_create(&d.srv, d.rr, svc_name, ORCH_VERSION, spec->description, d.cfg.instance, err) != ORCH_OK) {
        log_error("%s", err);
        goto out;
    }
    /* The service's own start adds its endpoints; $SRV starts after it, so
     * INFO lists them from the first answer. */
    if (spec->start && spec->start(&d, err) != ORCH_OK) {
        log_error("start: %s", err);
        goto out;
    }
    if (srv_start(d.srv, err) != ORCH_OK) {
        log_error("%s", err);
        goto out;
    }
    log_info("ready");
    watch_start(&w, &d, svc_name);

    while (!stop_flag) {
        if (spec->step)
            spec->step(&d);
        else
            nats_Sleep(100);
    }
    rc = 0;

out:
    if (stop_flag) {
        /* From here the stop is bounded, whatever hangs. */
        wa.timeout_ms = d.cfg.shutdown_timeout_ms;
        if (pthread_create(&wd, NULL, watchdog, &wa) == 0)
            pthread_detach(wd);
        log_info("stopping");
    }
    watch_stop(&w);
    if (spec->stop)
        spec->stop(&d);
    srv_stop(d.srv);
    if (d.js)
        jsCtx_Destroy(d.js);
    /* Each drain gets a quarter of the bound, so that together they leave
     * half of it for the rest and the watchdog does not cut a slow but
     * orderly stop. */
    nc_close(d.rr, d.cfg.shutdown_timeout_ms / 4);
    nc_close(d.nc, d.cfg.shutdown_timeout_ms / 4);
    srv_destroy(d.srv); /* after the close: no handler can still run */
    log_info("stopped (exit %d)", rc);
    cfg_free(tables, nt);
    nc_lib_close(svc_name);
    return rc;
}
