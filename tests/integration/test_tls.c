/* Services over TLS with client certificates and credentials, against a
 * real nats-server that requires both; the CA and certificates are made by
 * the test with openssl. A client without a certificate, with a wrong
 * password, or without TLS is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <nats/nats.h>

#include "natsfix.h"
#include "proc.h"
#include "svcfix.h"

static char dir[128];
static char ca[200], cert[200], key[200], scert[200], skey[200];

static void run_ok(const char *const argv[])
{
    int st = 0;
    pid_t p = proc_spawn(argv, NULL, dir, "openssl.log");
    assert_int_equal(proc_wait(p, 30000, &st), 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("%s %s failed (see %s/openssl.log)", argv[0], argv[1], dir);
}

/* A CA, a server certificate for 127.0.0.1, a client certificate. */
static void make_certs(void)
{
    char ext[200], cakey[200], csr[200];
    FILE *f;
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cakey, sizeof(cakey), "%s/ca.key", dir);
    snprintf(scert, sizeof(scert), "%s/server.pem", dir);
    snprintf(skey, sizeof(skey), "%s/server.key", dir);
    snprintf(cert, sizeof(cert), "%s/client.pem", dir);
    snprintf(key, sizeof(key), "%s/client.key", dir);
    snprintf(csr, sizeof(csr), "%s/req.csr", dir);
    snprintf(ext, sizeof(ext), "%s/ext.cnf", dir);
    f = fopen(ext, "w");
    fputs("subjectAltName=IP:127.0.0.1,DNS:localhost\n", f);
    fclose(f);
    {
        const char *a[] = {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", cakey, "-out", ca,
                           "-days", "2", "-subj", "/CN=orch-test-ca", NULL};
        const char *b[] = {"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", skey, "-out", csr,
                           "-subj", "/CN=localhost", NULL};
        const char *c[] = {"openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey, "-CAcreateserial",
                           "-out", scert, "-days", "2", "-extfile", ext, NULL};
        const char *d[] = {"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                           "-subj", "/CN=orch-service", NULL};
        const char *e[] = {"openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey, "-CAcreateserial",
                           "-out", cert, "-days", "2", NULL};
        run_ok(a);
        run_ok(b);
        run_ok(c);
        run_ok(d);
        run_ok(e);
    }
}

static void services_work_over_tls_with_credentials(void **state)
{
    natsfix fix = {0};
    char conf[1200], env_ca[256], env_cert[256], env_key[256];
    natsConnection *nc = NULL;
    pid_t pid;
    (void)state;

    snprintf(dir, sizeof(dir), "/tmp/orch-tls-XXXXXX");
    assert_non_null(mkdtemp(dir));
    make_certs();
    snprintf(conf, sizeof(conf),
             "tls { cert_file: \"%s\", key_file: \"%s\", ca_file: \"%s\", verify: true, timeout: 2 }\n"
             "authorization { user: svc, password: s3cret }\n",
             scert, skey, ca);
    fix.tls_ca = ca;
    fix.tls_cert = cert;
    fix.tls_key = key;
    fix.user = "svc";
    fix.password = "s3cret";
    assert_int_equal(natsfix_start(&fix, conf), 0);
    assert_int_equal(natsfix_connect(&fix, (void **)&nc), 0);

    snprintf(env_ca, sizeof(env_ca), "ORCH_NATS_TLS_CA=%s", ca);
    snprintf(env_cert, sizeof(env_cert), "ORCH_NATS_TLS_CERT=%s", cert);
    snprintf(env_key, sizeof(env_key), "ORCH_NATS_TLS_KEY=%s", key);
    {
        const char *x[] = {env_ca, env_cert, env_key, "ORCH_NATS_USER=svc", "ORCH_NATS_PASSWORD=s3cret", NULL};
        pid = svc_start_ready(nc, &fix, "router", "tls-router", x);
    }
    /* it works: a requirement in, classified out */
    {
        jsCtx *js = NULL;
        natsSubscription *plan = NULL;
        natsMsg *m = NULL;
        assert_int_equal(natsConnection_SubscribeSync(&plan, nc, "plan.requirement.>"), NATS_OK);
        assert_int_equal(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
        assert_int_equal(js_Publish(NULL, js, "intake.requirements", "{\"id\":\"TLS-1\",\"title\":\"Add API\"}", 32,
                                    NULL, NULL), NATS_OK);
        assert_int_equal(natsSubscription_NextMsg(&m, plan, 5000), NATS_OK);
        assert_string_equal(natsMsg_GetSubject(m), "plan.requirement.TLS-1");
        natsMsg_Destroy(m);
        natsSubscription_Destroy(plan);
        jsCtx_Destroy(js);
    }
    /* and nobody gets in without all of it */
    {
        natsfix no_cert = fix, wrong_pw = fix, plain = fix;
        natsConnection *x = NULL;
        no_cert.tls_cert = NULL;
        no_cert.tls_key = NULL;
        wrong_pw.password = "guess";
        plain.tls_ca = plain.tls_cert = plain.tls_key = NULL;
        assert_int_not_equal(natsfix_connect(&no_cert, (void **)&x), 0);
        assert_int_not_equal(natsfix_connect(&wrong_pw, (void **)&x), 0);
        assert_int_not_equal(natsfix_connect(&plain, (void **)&x), 0);
    }
    svc_stop(pid);
    natsConnection_Destroy(nc);
    natsfix_stop(&fix);
    {
        const char *argv[] = {"rm", "-rf", dir, NULL};
        proc_wait(proc_spawn(argv, NULL, NULL, NULL), 10000, NULL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(services_work_over_tls_with_credentials),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    nats_Close();
    return rc;
}
