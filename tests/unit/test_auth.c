/* Credentials and inbox prefixes (common/auth.c): which connections have
 * credentials, which servers are on loopback, and each identity's inbox
 * prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"

static void credentials_are_any_way_to_authenticate(void **state)
{
    svc_cfg c;
    (void)state;
    memset(&c, 0, sizeof(c));
    assert_false(auth_has_credentials(NULL));
    assert_false(auth_has_credentials(&c));
    c.nats_user = "";
    assert_false(auth_has_credentials(&c));
    c.nats_user = "router";
    assert_true(auth_has_credentials(&c));
    memset(&c, 0, sizeof(c));
    c.nats_token = "t";
    assert_true(auth_has_credentials(&c));
    memset(&c, 0, sizeof(c));
    c.nats_creds = "/etc/orch/router.creds";
    assert_true(auth_has_credentials(&c));
    memset(&c, 0, sizeof(c));
    c.nats_nkey_seed = "/etc/orch/router.nk";
    assert_true(auth_has_credentials(&c));
}

static void loopback_servers_are_this_machine(void **state)
{
    (void)state;
    assert_true(auth_url_is_loopback("nats://127.0.0.1:4222"));
    assert_true(auth_url_is_loopback("nats://127.1.2.3"));
    assert_true(auth_url_is_loopback("localhost:4222"));
    assert_true(auth_url_is_loopback("nats://u:p@localhost:4222"));
    assert_true(auth_url_is_loopback("tls://[::1]:4222"));
    assert_false(auth_url_is_loopback("nats://nats:4222"));
    assert_false(auth_url_is_loopback("nats://10.0.0.5:4222"));
    assert_false(auth_url_is_loopback("nats://127.example.com:4222"));
    assert_false(auth_url_is_loopback("nats://localhost.example.com:4222"));
    assert_false(auth_url_is_loopback("nats://127.0.0.1@evil.example:4222"));
    assert_false(auth_url_is_loopback("nats://[::1"));
    assert_false(auth_url_is_loopback("nats://"));
    assert_false(auth_url_is_loopback(""));
    assert_false(auth_url_is_loopback(NULL));
}

static void each_identity_has_its_own_inbox_prefix(void **state)
{
    char out[32];
    (void)state;
    assert_int_equal(auth_inbox_prefix("agent-backend", out, sizeof(out)), strlen("_INBOX_agent-backend"));
    assert_string_equal(out, "_INBOX_agent-backend");
    assert_int_equal(auth_inbox_prefix("router", out, sizeof(out)), 13);
    /* no prefix: nats.c's _INBOX is used */
    assert_int_equal(auth_inbox_prefix(NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(auth_inbox_prefix("", out, sizeof(out)), 0);
    assert_int_equal(auth_inbox_prefix("a.b", out, sizeof(out)), 0);
    assert_int_equal(auth_inbox_prefix("a*", out, sizeof(out)), 0);
    assert_int_equal(auth_inbox_prefix(">", out, sizeof(out)), 0);
    assert_int_equal(auth_inbox_prefix("a b", out, sizeof(out)), 0);
    assert_int_equal(auth_inbox_prefix("a-very-long-user-name-indeed", out, sizeof(out)), 0);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(credentials_are_any_way_to_authenticate),
        cmocka_unit_test(loopback_servers_are_this_machine),
        cmocka_unit_test(each_identity_has_its_own_inbox_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
