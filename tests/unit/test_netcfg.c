/*
 * Network configuration and abuse limits (issue 6): CIDR lists, the private-range
 * classification, listener lines, rate specs, the network keys inside the config
 * file (repeatable `listener`, exclusive with `listen`, public binds refused), the
 * source policy, and the token-bucket table.
 */
/* cmocka needs these first, in this order. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "server/config.h"
#include "server/net.h"
#include "server/netcfg.h"
#include "server/ratelimit.h"

#include <arpa/inet.h>
#include <string.h>

static struct at_ip ip_of(const char *s)
{
    struct at_ip ip;
    memset(&ip, 0, sizeof(ip));
    if (strchr(s, ':') != NULL) {
        struct sockaddr_in6 sa;
        memset(&sa, 0, sizeof(sa));
        sa.sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, s, &sa.sin6_addr), 1);
        assert_true(at_ip_from_sockaddr((struct sockaddr *)&sa, sizeof(sa), &ip));
    } else {
        struct sockaddr_in sa;
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, s, &sa.sin_addr), 1);
        assert_true(at_ip_from_sockaddr((struct sockaddr *)&sa, sizeof(sa), &ip));
    }
    return ip;
}

static void test_cidr(void **state)
{
    (void)state;
    struct at_cidr_list l;
    struct at_err e;
    at_err_init(&e);
    const char *v = "10.1.0.0/16, 192.0.2.7 ,2001:db8::/32,::ffff:0:0/96";
    assert_true(at_is_ok(at_cidr_list_parse(v, strlen(v), &l, "k", &e)));
    assert_int_equal(l.n, 4);
    struct at_ip a = ip_of("10.1.255.3");
    assert_true(at_cidr_list_contains(&l, &a));
    a = ip_of("10.2.0.1");
    assert_false(at_cidr_contains(&l.v[0], &a));
    a = ip_of("192.0.2.7");
    assert_true(at_cidr_contains(&l.v[1], &a));
    a = ip_of("192.0.2.8");
    assert_false(at_cidr_contains(&l.v[1], &a));
    a = ip_of("2001:db8:ffff::1");
    assert_true(at_cidr_contains(&l.v[2], &a));
    a = ip_of("2001:db9::1");
    assert_false(at_cidr_contains(&l.v[2], &a));
    /* IPv4-mapped IPv6 sources are the same address as IPv4 ones. */
    struct at_ip m = ip_of("::ffff:10.1.2.3");
    struct at_ip p4 = ip_of("10.1.2.3");
    assert_memory_equal(m.b, p4.b, 16);
    assert_true(at_cidr_contains(&l.v[0], &m));
    char buf[64];
    at_ip_format(&m, buf, sizeof(buf));
    assert_string_equal(buf, "10.1.2.3");
    /* /0 matches everything of its family. */
    const char *all = "0.0.0.0/0";
    assert_true(at_is_ok(at_cidr_list_parse(all, strlen(all), &l, "k", &e)));
    a = ip_of("203.0.113.9");
    assert_true(at_cidr_list_contains(&l, &a));
    a = ip_of("2001:db8::1");
    assert_false(at_cidr_list_contains(&l, &a));

    static const char *const bad[] = {
        "10.0.0.1/8", "10.0.0.0/33", "::/129",      "1.2.3",          "10.0.0.0/",
        "a.b.c.d",    ",10.0.0.0/8", "10.0.0.0/8,", "fe80::1%lo/128", "10.0.0.0/8 10.1.0.0/16"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        at_err_init(&e);
        assert_false(at_is_ok(at_cidr_list_parse(bad[i], strlen(bad[i]), &l, "k", &e)));
        assert_int_equal(e.code, AT_E_BAD_VALUE);
    }
}

static void test_private(void **state)
{
    (void)state;
    static const char *const priv[] = {
        "127.0.0.1",   "127.255.0.2", "10.9.8.7", "172.16.0.1", "172.31.255.255",
        "192.168.1.1", "::1",         "fc00::1",  "fdff::1",    "::ffff:192.168.0.1"};
    static const char *const pub[] = {"8.8.8.8",  "172.32.0.1", "172.15.255.255", "192.169.0.1",
                                      "11.0.0.1", "::2",        "fe80::1",        "2001:db8::1",
                                      "0.0.0.0",  "::"};
    for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++) {
        struct at_ip a = ip_of(priv[i]);
        assert_true(at_ip_is_private(&a));
    }
    for (size_t i = 0; i < sizeof(pub) / sizeof(pub[0]); i++) {
        struct at_ip a = ip_of(pub[i]);
        assert_false(at_ip_is_private(&a));
    }
}

static void test_source_policy(void **state)
{
    (void)state;
    struct at_config_net n;
    at_config_net_init(&n);
    struct at_err e;
    at_err_init(&e);
    struct at_ip lo = ip_of("127.0.0.1"), lo2 = ip_of("127.0.0.2"), pub = ip_of("203.0.113.5");
    assert_true(at_net_source_allowed(&n, &lo));
    assert_true(at_net_source_allowed(&n, &lo2));
    assert_false(at_net_source_allowed(&n, &pub));
    assert_true(at_is_ok(at_cidr_list_parse("127.0.0.2", 9, &n.treat_public, "t", &e)));
    assert_false(at_net_source_allowed(&n, &lo2));
    assert_true(at_net_source_allowed(&n, &lo));
    assert_true(
        at_is_ok(at_cidr_list_parse("127.0.0.2/32, 203.0.113.0/24", 28, &n.allowed, "a", &e)));
    assert_true(at_net_source_allowed(&n, &lo2));
    assert_true(at_net_source_allowed(&n, &pub));
    n.allowed.n = 0;
    n.public_access = true;
    assert_true(at_net_source_allowed(&n, &lo2));
    assert_true(at_net_source_allowed(&n, &pub));
    at_config_net_clear(&n);
}

static void test_listener_spec(void **state)
{
    (void)state;
    struct at_listener_spec s;
    struct at_err e;
    at_err_init(&e);
    const char *v = "127.0.0.1:8443 data,management";
    assert_true(at_is_ok(at_listener_spec_parse(v, strlen(v), &s, &e)));
    assert_false(s.is_unix);
    assert_int_equal(s.port, 8443);
    assert_int_equal(s.roles, AT_ROLE_DATA | AT_ROLE_MANAGEMENT);
    assert_false(s.mtls);
    v = "[::1]:9443\tmanagement  mtls";
    assert_true(at_is_ok(at_listener_spec_parse(v, strlen(v), &s, &e)));
    assert_int_equal(s.family, AF_INET6);
    assert_string_equal(s.host, "[::1]");
    assert_true(s.mtls);
    v = "unix:/run/attestd/attestd.sock all";
    assert_true(at_is_ok(at_listener_spec_parse(v, strlen(v), &s, &e)));
    assert_true(s.is_unix);
    assert_string_equal(s.path, "/run/attestd/attestd.sock");
    assert_int_equal(s.roles, AT_ROLE_ALL);
    char buf[48];
    assert_string_equal(at_roles_format(AT_ROLE_DATA | AT_ROLE_METRICS, buf, sizeof(buf)),
                        "data,metrics");
    static const char *const bad[] = {"127.0.0.1:8443",          "127.0.0.1:8443 admin",
                                      "127.0.0.1:8443 data,",    "127.0.0.1:8443 data mtls extra",
                                      "127.0.0.1:8443 data tls", "unix:relative.sock data",
                                      "unix:/x.sock data mtls",  "127.0.0.1:70000 data",
                                      "host.example:1 data",     ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        at_err_init(&e);
        assert_false(at_is_ok(at_listener_spec_parse(bad[i], strlen(bad[i]), &s, &e)));
    }
}

static void test_rate_specs(void **state)
{
    (void)state;
    struct at_rate_spec r;
    struct at_authfail_spec f;
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_rate_spec_parse("20/40", 5, &r, "k", &e)));
    assert_int_equal(r.rate, 20);
    assert_int_equal(r.burst, 40);
    assert_true(at_is_ok(at_rate_spec_parse("0", 1, &r, "k", &e)));
    assert_int_equal(r.rate, 0);
    assert_false(at_is_ok(at_rate_spec_parse("20", 2, &r, "k", &e)));
    assert_false(at_is_ok(at_rate_spec_parse("0/5", 3, &r, "k", &e)));
    assert_false(at_is_ok(at_rate_spec_parse("5/0", 3, &r, "k", &e)));
    assert_false(at_is_ok(at_rate_spec_parse("5/x", 3, &r, "k", &e)));
    assert_true(at_is_ok(at_authfail_spec_parse("10/60/300", 9, &f, &e)));
    assert_int_equal(f.failures, 10);
    assert_int_equal(f.window_s, 60);
    assert_int_equal(f.cooldown_s, 300);
    assert_false(at_is_ok(at_authfail_spec_parse("10/60", 5, &f, &e)));
    assert_false(at_is_ok(at_authfail_spec_parse("10/0/5", 6, &f, &e)));
}

static at_status parse(struct at_config *c, const char *text, size_t *line, struct at_err *e)
{
    return at_config_parse(c, text, strlen(text), line, e);
}

static void test_config_keys(void **state)
{
    (void)state;
    struct at_config c;
    struct at_err e;
    size_t line;
    at_config_init(&c);
    assert_false(c.net.public_access);
    assert_int_equal(c.net.hsts_max_age_s, 31536000);
    assert_int_equal(c.net.max_conn_per_source, 64);
    assert_int_equal(c.net.rate_source.rate, 0);
    assert_int_equal(c.net.auth_fail.failures, 30);
    assert_int_equal(c.net.header_timeout_s, 10);
    at_err_init(&e);
    const char *text = "listener = 127.0.0.1:0 data\n"
                       "listener = 127.0.0.1:0 management mtls\n"
                       "listener = unix:/tmp/a.sock data\n"
                       "public_network_access = disabled\n"
                       "allowed_networks = 203.0.113.0/24\n"
                       "treat_as_public = 127.0.0.2/32\n"
                       "tls_client_ca = /etc/ca.pem\n"
                       "hsts_max_age_s = 0\n"
                       "max_connections_per_source = 8\n"
                       "rate_limit_per_source = 10/20\n"
                       "rate_limit_per_provider = 100/200\n"
                       "auth_failure_limit = 5/60/120\n"
                       "request_header_timeout_s = 3\n";
    assert_true(at_is_ok(parse(&c, text, &line, &e)));
    assert_int_equal(c.net.n_listeners, 3);
    assert_string_equal(c.net.listeners, "127.0.0.1:0 data\n127.0.0.1:0 management mtls\n"
                                         "unix:/tmp/a.sock data");
    assert_int_equal(c.net.allowed.n, 1);
    assert_string_equal(c.net.tls_client_ca, "/etc/ca.pem");
    assert_int_equal(c.net.hsts_max_age_s, 0);
    assert_int_equal(c.net.max_conn_per_source, 8);
    assert_int_equal(c.net.rate_source.burst, 20);
    assert_int_equal(c.net.rate_provider.rate, 100);
    assert_int_equal(c.net.auth_fail.cooldown_s, 120);
    assert_int_equal(c.net.header_timeout_s, 3);
    assert_true(at_is_ok(at_config_check(&c, &e)));
    /* --listen on top of listener lines: refused. */
    at_err_init(&e);
    assert_true(at_is_ok(at_config_set(&c, AT_CFG_LISTEN, "127.0.0.1:0", 11, &e)));
    assert_false(at_is_ok(at_config_check(&c, &e)));
    assert_non_null(strstr(e.msg, "exclusive"));
    at_config_clear(&c);

    /* Public binds while public access is disabled. */
    at_config_init(&c);
    assert_true(at_is_ok(at_config_set(&c, AT_CFG_LISTEN, "0.0.0.0:8443", 12, &e)));
    at_err_init(&e);
    assert_false(at_is_ok(at_config_check(&c, &e)));
    assert_non_null(strstr(e.msg, "public_network_access = disabled"));
    assert_true(at_is_ok(at_config_set(&c, AT_CFG_PUBLIC_NETWORK_ACCESS, "enabled", 7, &e)));
    assert_true(at_is_ok(at_config_check(&c, &e)));
    at_config_clear(&c);

    static const char *const bad[] = {
        "public_network_access = yes\n",
        "hsts_max_age_s = 63072001\n",
        "allowed_networks = 10.0.0.0/6\n",
        "max_connections_per_source = 5000\n",
        "request_header_timeout_s = 0\n",
        "rate_limit_per_source = fast\n",
        "treat_as_public = 127.0.0.2/32\ntreat_as_public = 127.0.0.3/32\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        at_config_init(&c);
        at_err_init(&e);
        assert_false(at_is_ok(parse(&c, bad[i], &line, &e)));
        at_config_clear(&c);
    }
    /* mtls needs tls_client_ca. */
    at_config_init(&c);
    at_err_init(&e);
    assert_true(at_is_ok(parse(&c, "listener = 127.0.0.1:0 management mtls\n", &line, &e)));
    assert_false(at_is_ok(at_config_check(&c, &e)));
    assert_non_null(strstr(e.msg, "tls_client_ca"));
    at_config_clear(&c);
}

static void test_buckets(void **state)
{
    (void)state;
    struct at_rate_spec src = {1, 3}, prov = {1, 2};
    struct at_authfail_spec fail = {2, 60, 30};
    struct at_limits *l = at_limits_new(&src, &prov, &fail);
    assert_non_null(l);
    struct at_ip a = ip_of("127.0.0.5"), b = ip_of("127.0.0.6");
    unsigned retry = 0;
    assert_true(at_limits_source_take(l, &a, &retry));
    assert_true(at_limits_source_take(l, &a, &retry));
    assert_true(at_limits_source_take(l, &a, &retry));
    assert_false(at_limits_source_take(l, &a, &retry));
    assert_int_equal(retry, 1);
    assert_true(at_limits_source_take(l, &b, &retry)); /* per source */
    assert_true(at_limits_provider_take(l, "p1", &retry));
    assert_true(at_limits_provider_take(l, "p1", &retry));
    assert_false(at_limits_provider_take(l, "p1", &retry));
    assert_true(at_limits_provider_take(l, "p2", &retry));
    /* Two failures within 60 s: 30 s of cool-down for that source only. */
    assert_false(at_limits_auth_blocked(l, &a, &retry));
    at_limits_auth_failure(l, &a);
    assert_false(at_limits_auth_blocked(l, &a, &retry));
    at_limits_auth_failure(l, &a);
    assert_true(at_limits_auth_blocked(l, &a, &retry));
    assert_true(retry >= 29 && retry <= 30);
    assert_false(at_limits_auth_blocked(l, &b, &retry));
    /* The log gate. */
    assert_true(at_limits_once_per(l, 'r', &b, 60));
    assert_false(at_limits_once_per(l, 'r', &b, 60));
    assert_true(at_limits_once_per(l, 'r', &a, 60));
    /* A flood of distinct sources stays within the fixed table (no growth, no crash). */
    for (uint32_t i = 0; i < 100000; i++) {
        struct at_ip x;
        memset(&x, 0, sizeof(x));
        x.b[10] = 0xff;
        x.b[11] = 0xff;
        memcpy(x.b + 12, &i, 4);
        (void)at_limits_source_take(l, &x, &retry);
    }
    at_limits_free(l);
    /* Off: never limits. */
    struct at_rate_spec off = {0, 0};
    struct at_authfail_spec nofail = {0, 0, 0};
    l = at_limits_new(&off, &off, &nofail);
    for (int i = 0; i < 1000; i++) {
        assert_true(at_limits_source_take(l, &a, &retry));
        at_limits_auth_failure(l, &a);
    }
    assert_false(at_limits_auth_blocked(l, &a, &retry));
    at_limits_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cidr),          cmocka_unit_test(test_private),
        cmocka_unit_test(test_source_policy), cmocka_unit_test(test_listener_spec),
        cmocka_unit_test(test_rate_specs),    cmocka_unit_test(test_config_keys),
        cmocka_unit_test(test_buckets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
