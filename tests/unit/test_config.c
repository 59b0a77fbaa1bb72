/*
 * The attestd config parser (src/server/config.c, docs/configuration.md): a
 * full valid file, then one table row per way a line can be wrong, each with
 * its exact code and line number, plus overrides and cross-key checks.
 *
 * config.c lives in src/server (not in the core library), so it is compiled
 * into this test directly; it depends only on libc and src/base.
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

#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_defaults(void **state)
{
    (void)state;
    struct at_config c;
    at_config_init(&c);
    assert_string_equal(c.listen, "127.0.0.1:8443");
    assert_int_equal(c.listen_addr.family, AF_INET);
    assert_int_equal(c.listen_addr.port, 8443);
    assert_string_equal(c.listen_addr.host, "127.0.0.1");
    assert_string_equal(c.data_dir, "/var/lib/attestd");
    assert_null(c.tls_cert);
    assert_null(c.tls_key);
    assert_null(c.public_url);
    assert_null(c.sgx_root_ca);
    assert_int_equal(c.threads, 0); /* a thread per connection */
    assert_int_equal(c.max_body_bytes, 1024 * 1024);
    assert_int_equal(c.connection_timeout_s, 30);
    assert_int_equal(c.token_lifetime_s, 28800);
    assert_false(c.fixed_time);
    assert_int_equal(c.log_level, AT_LOG_INFO);
    at_config_clear(&c);
}

static const char full[] = "# attestd test config\n"
                           "\n"
                           "   listen = [::1]:0   \n"
                           "data_dir=/tmp/attestd data\r\n"
                           "\ttls_cert = /etc/attestd/cert.pem\n"
                           "tls_key = /etc/attestd/key.pem\n"
                           "public_url = https://attest.example.com:8443/maa//\n"
                           "  # indented comment\n"
                           "threads = 8\n"
                           "max_body_bytes = 2048\n"
                           "connection_timeout_s = 5\n"
                           "token_lifetime_s = 3600\n"
                           "fixed_time = 2024-05-01T12:00:00Z\n"
                           "log_level = debug\n"
                           "sgx_root_ca = /tmp/root.pem"; /* no final newline */

static void test_full(void **state)
{
    (void)state;
    struct at_config c;
    struct at_err e;
    size_t line = 99;
    at_err_init(&e);
    at_config_init(&c);
    assert_true(at_is_ok(at_config_parse(&c, full, strlen(full), &line, &e)));
    assert_int_equal(line, 0);
    assert_string_equal(c.listen, "[::1]:0");
    assert_int_equal(c.listen_addr.family, AF_INET6);
    assert_int_equal(c.listen_addr.port, 0);
    assert_string_equal(c.listen_addr.host, "[::1]");
    assert_string_equal(c.data_dir, "/tmp/attestd data");
    assert_string_equal(c.tls_cert, "/etc/attestd/cert.pem");
    assert_string_equal(c.tls_key, "/etc/attestd/key.pem");
    assert_string_equal(c.public_url, "https://attest.example.com:8443/maa");
    assert_int_equal(c.threads, 8);
    assert_int_equal(c.max_body_bytes, 2048);
    assert_int_equal(c.connection_timeout_s, 5);
    assert_int_equal(c.token_lifetime_s, 3600);
    assert_true(c.fixed_time);
    assert_int_equal(c.fixed_now, 1714564800);
    assert_int_equal(c.log_level, AT_LOG_DEBUG);
    assert_string_equal(c.sgx_root_ca, "/tmp/root.pem");
    assert_true(at_is_ok(at_config_check(&c, &e)));
    at_config_clear(&c);
}

static void test_empty_and_comments(void **state)
{
    (void)state;
    static const char *const texts[] = {"", "\n\n", "# only a comment", "  \t\r\n#x = y\n"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct at_config c;
        struct at_err e;
        size_t line;
        at_err_init(&e);
        at_config_init(&c);
        assert_true(at_is_ok(at_config_parse(&c, texts[i], strlen(texts[i]), &line, &e)));
        assert_string_equal(c.listen, "127.0.0.1:8443");
        at_config_clear(&c);
    }
}

static void test_listen_forms(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int family;
        unsigned port;
        const char *host;
    } ok[] = {
        {"127.0.0.1:8443", AF_INET, 8443, "127.0.0.1"},  {"0.0.0.0:443", AF_INET, 443, "0.0.0.0"},
        {"localhost:1", AF_INET, 1, "127.0.0.1"},        {"[::]:65535", AF_INET6, 65535, "[::]"},
        {"[0:0:0:0:0:0:0:1]:80", AF_INET6, 80, "[::1]"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct at_listen_addr a;
        struct at_err e;
        at_err_init(&e);
        assert_true(at_is_ok(at_listen_parse(ok[i].in, strlen(ok[i].in), &a, &e)));
        assert_int_equal(a.family, ok[i].family);
        assert_int_equal(a.port, ok[i].port);
        assert_string_equal(a.host, ok[i].host);
    }
}

/* One defect per row: the text, the expected code and the line it is reported on. */
static const struct bad_case {
    const char *text;
    enum at_code code;
    size_t line;
    const char *msg_has;
} bad[] = {
    {"listen\n", AT_E_PARSE, 1, "expected key = value"},
    {"# c\n\n= 1\n", AT_E_PARSE, 3, "missing key"},
    {"\n\nnope = 1\n", AT_E_PARSE, 3, "unknown key 'nope'"},
    {"Listen = 127.0.0.1:1\n", AT_E_PARSE, 1, "unknown key"},
    {"threads = 2\n# x\nthreads = 3\n", AT_E_PARSE, 3, "first set on line 1"},
    {"data_dir =\n", AT_E_BAD_VALUE, 1, "empty value"},
    {"data_dir =   \t\n", AT_E_BAD_VALUE, 1, "empty value"},
    {"threads = 0\n", AT_E_BAD_VALUE, 1, "outside"},
    {"threads = 1025\n", AT_E_BAD_VALUE, 1, "outside"},
    {"threads = -1\n", AT_E_BAD_VALUE, 1, "integer"},
    {"threads = 4x\n", AT_E_BAD_VALUE, 1, "integer"},
    {"threads = 0x10\n", AT_E_BAD_VALUE, 1, "integer"},
    {"threads = 99999999999999999999\n", AT_E_BAD_VALUE, 1, "integer"},
    {"max_body_bytes = 1023\n", AT_E_BAD_VALUE, 1, "outside"},
    {"max_body_bytes = 67108865\n", AT_E_BAD_VALUE, 1, "outside"},
    {"connection_timeout_s = 0\n", AT_E_BAD_VALUE, 1, "outside"},
    {"token_lifetime_s = 59\n", AT_E_BAD_VALUE, 1, "outside"},
    {"listen = 127.0.0.1\n", AT_E_BAD_VALUE, 1, "ADDR:PORT"},
    {"listen = 127.0.0.1:\n", AT_E_BAD_VALUE, 1, "integer"},
    {"listen = 127.0.0.1:65536\n", AT_E_BAD_VALUE, 1, "outside"},
    {"listen = :8443\n", AT_E_BAD_VALUE, 1, "missing address"},
    {"listen = ::1:8443\n", AT_E_BAD_VALUE, 1, "[ADDR]:PORT"},
    {"listen = [::1]8443\n", AT_E_BAD_VALUE, 1, "[IPV6]:PORT"},
    {"listen = [127.0.0.1]:1\n", AT_E_BAD_VALUE, 1, "IPv6"},
    {"listen = example.com:443\n", AT_E_BAD_VALUE, 1, "IPv4"},
    {"listen = 1.2.3:4\n", AT_E_BAD_VALUE, 1, "IPv4"},
    {"public_url = ftp://x\n", AT_E_BAD_VALUE, 1, "https://"},
    {"public_url = https://\n", AT_E_BAD_VALUE, 1, "missing host"},
    {"public_url = https:///x\n", AT_E_BAD_VALUE, 1, "missing host"},
    {"public_url = https://a b\n", AT_E_BAD_VALUE, 1, "not allowed"},
    {"public_url = https://a/?q=1\n", AT_E_BAD_VALUE, 1, "not allowed"},
    {"public_url = https://a/#f\n", AT_E_BAD_VALUE, 1, "not allowed"},
    {"fixed_time = yesterday\n", AT_E_PARSE, 1, "fixed_time"},
    {"fixed_time = 2024-13-01T00:00:00Z\n", AT_E_PARSE, 1, "fixed_time"},
    {"log_level = verbose\n", AT_E_BAD_VALUE, 1, "log_level"},
    {"log_level = INFO\n", AT_E_BAD_VALUE, 1, "log_level"},
    {"tls_cert = /a\x01b\n", AT_E_BAD_VALUE, 1, "control character"},
    {"data_dir = /x\n\n\nthreads = 1\nlisten = nope\n", AT_E_BAD_VALUE, 5, "listen"},
};

static void test_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct at_config c;
        struct at_err e;
        size_t line = 0;
        at_err_init(&e);
        at_config_init(&c);
        at_status s = at_config_parse(&c, bad[i].text, strlen(bad[i].text), &line, &e);
        if (at_is_ok(s) || e.code != bad[i].code || line != bad[i].line ||
            strstr(e.msg, bad[i].msg_has) == NULL) {
            print_error("case %zu (%s): code %d line %zu msg '%s'\n", i, bad[i].text, (int)e.code,
                        line, e.msg);
            fail();
        }
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "line %zu: ", bad[i].line);
        assert_memory_equal(e.msg, prefix, strlen(prefix));
        /* A failed parse leaves the config as it was. */
        assert_string_equal(c.listen, "127.0.0.1:8443");
        assert_string_equal(c.data_dir, "/var/lib/attestd");
        at_config_clear(&c);
    }
}

static void test_nul_and_long_lines(void **state)
{
    (void)state;
    struct at_config c;
    struct at_err e;
    size_t line;
    static const char with_nul[] = "threads = 2\ndata_dir = /a\0b\n";
    at_err_init(&e);
    at_config_init(&c);
    assert_false(at_is_ok(at_config_parse(&c, with_nul, sizeof(with_nul) - 1, &line, &e)));
    assert_int_equal(e.code, AT_E_PARSE);
    assert_int_equal(line, 2);
    assert_non_null(strstr(e.msg, "NUL"));
    at_config_clear(&c);

    size_t n = AT_CONFIG_LINE_MAX + 20;
    char *longl = malloc(n + 1);
    assert_non_null(longl);
    memcpy(longl, "# ok\ndata_dir = /", 17);
    memset(longl + 17, 'a', n - 17);
    longl[n] = '\0';
    at_err_init(&e);
    at_config_init(&c);
    assert_false(at_is_ok(at_config_parse(&c, longl, n, &line, &e)));
    assert_int_equal(e.code, AT_E_LIMIT);
    assert_int_equal(line, 2);
    at_config_clear(&c);
    free(longl);
}

static void test_path_too_long(void **state)
{
    (void)state;
    struct at_config c;
    struct at_err e;
    char *v = malloc(AT_CONFIG_PATH_MAX + 2);
    assert_non_null(v);
    memset(v, 'p', AT_CONFIG_PATH_MAX + 1);
    v[AT_CONFIG_PATH_MAX + 1] = '\0';
    at_err_init(&e);
    at_config_init(&c);
    assert_false(at_is_ok(at_config_set(&c, AT_CFG_DATA_DIR, v, strlen(v), &e)));
    assert_int_equal(e.code, AT_E_BAD_VALUE);
    at_err_init(&e);
    assert_true(at_is_ok(at_config_set(&c, AT_CFG_DATA_DIR, v, AT_CONFIG_PATH_MAX, &e)));
    at_config_clear(&c);
    free(v);
}

/* Command-line options override the file; a later set wins, no duplicate error. */
static void test_overrides(void **state)
{
    (void)state;
    struct at_config c;
    struct at_err e;
    size_t line;
    static const char text[] = "listen = 127.0.0.1:9000\ndata_dir = /from/file\n";
    at_err_init(&e);
    at_config_init(&c);
    assert_true(at_is_ok(at_config_parse(&c, text, strlen(text), &line, &e)));
    assert_true(at_is_ok(at_config_set(&c, AT_CFG_LISTEN, "127.0.0.1:0", 11, &e)));
    assert_true(at_is_ok(at_config_set(&c, AT_CFG_LISTEN, "[::1]:7", 7, &e)));
    assert_string_equal(c.listen, "[::1]:7");
    assert_int_equal(c.listen_addr.port, 7);
    assert_string_equal(c.data_dir, "/from/file");
    assert_false(at_is_ok(at_config_set(&c, AT_CFG_FIXED_TIME, "2024-01-01", 10, &e)));
    assert_false(c.fixed_time);
    at_err_init(&e);
    assert_true(
        at_is_ok(at_config_set(&c, AT_CFG_FIXED_TIME, "2024-01-01T00:00:00+01:00", 25, &e)));
    assert_true(c.fixed_time);
    assert_int_equal(c.fixed_now, 1704063600);
    at_config_clear(&c);
}

static void test_cross_checks(void **state)
{
    (void)state;
    struct at_config c;
    struct at_err e;
    at_err_init(&e);
    at_config_init(&c);
    assert_true(at_is_ok(at_config_check(&c, &e)));
    assert_true(at_is_ok(at_config_set(&c, AT_CFG_TLS_CERT, "/c.pem", 6, &e)));
    assert_false(at_is_ok(at_config_check(&c, &e)));
    assert_int_equal(e.code, AT_E_BAD_VALUE);
    at_err_init(&e);
    assert_true(at_is_ok(at_config_set(&c, AT_CFG_TLS_KEY, "/k.pem", 6, &e)));
    assert_true(at_is_ok(at_config_check(&c, &e)));
    at_config_clear(&c);
}

/* Scheduled backups (issue 7): defaults, values, ranges and the key/passphrase rules. */
static void test_backup_keys(void **state)
{
    (void)state;
    struct at_config c;
    struct at_err e;
    size_t line = 0;
    at_err_init(&e);
    at_config_init(&c);
    assert_null(c.backup_dir);
    assert_int_equal(c.backup_interval_s, 86400);
    assert_int_equal(c.backup_keep, 7);
    const char *ok = "backup_dir = /var/backups/attestd\nbackup_interval_s = 1\n"
                     "backup_keep = 3\nbackup_key_file = /etc/attestd/backup.key\n";
    assert_true(at_is_ok(at_config_parse(&c, ok, strlen(ok), &line, &e)));
    assert_string_equal(c.backup_dir, "/var/backups/attestd");
    assert_int_equal(c.backup_interval_s, 1);
    assert_int_equal(c.backup_keep, 3);
    assert_string_equal(c.backup_key_file, "/etc/attestd/backup.key");
    assert_true(at_is_ok(at_config_check(&c, &e)));
    /* both key kinds: refused */
    assert_true(at_is_ok(at_config_set(&c, AT_CFG_BACKUP_PASSPHRASE_FILE, "/p", 2, &e)));
    assert_false(at_is_ok(at_config_check(&c, &e)));
    assert_non_null(strstr(e.msg, "exclude each other"));
    at_config_clear(&c);
    /* a backup_dir without any key: refused */
    at_config_init(&c);
    at_err_init(&e);
    assert_true(at_is_ok(at_config_set(&c, AT_CFG_BACKUP_DIR, "/b", 2, &e)));
    assert_false(at_is_ok(at_config_check(&c, &e)));
    assert_non_null(strstr(e.msg, "backup_dir needs backup_key_file or backup_passphrase_file"));
    at_config_clear(&c);
    static const char *const bad_backup[] = {"backup_interval_s = 0\n", "backup_interval_s = 31622401\n",
                                      "backup_keep = 0\n", "backup_keep = 10001\n",
                                      "backup_keep = -1\n", "backup_dir =\n"};
    for (size_t i = 0; i < sizeof(bad_backup) / sizeof(bad_backup[0]); i++) {
        at_config_init(&c);
        at_err_init(&e);
        assert_false(at_is_ok(at_config_parse(&c, bad_backup[i], strlen(bad_backup[i]), &line, &e)));
        assert_int_equal(line, 1);
        at_config_clear(&c);
    }
}

static void test_key_names(void **state)
{
    (void)state;
    for (unsigned k = 0; k < AT_CFG_KEY_COUNT; k++) {
        const char *name = at_config_key_name((enum at_config_key)k);
        enum at_config_key found;
        assert_true(at_config_key_find(name, strlen(name), &found));
        assert_int_equal(found, k);
    }
    enum at_config_key found;
    assert_false(at_config_key_find("listen ", 7, &found));
    assert_false(at_config_key_find("", 0, &found));
}

static void test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/attestd_test_config_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] = "threads = 3\nbogus = 1\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct at_config c;
    struct at_err e;
    at_err_init(&e);
    at_config_init(&c);
    assert_false(at_is_ok(at_config_load(&c, path, &e)));
    assert_int_equal(e.code, AT_E_PARSE);
    assert_non_null(strstr(e.msg, path));
    assert_non_null(strstr(e.msg, "line 2: unknown key 'bogus'"));
    assert_int_not_equal(c.threads, 3);
    unlink(path);
    at_err_init(&e);
    assert_false(at_is_ok(at_config_load(&c, path, &e)));
    assert_int_equal(e.code, AT_E_IO);
    at_config_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_empty_and_comments),
        cmocka_unit_test(test_listen_forms),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_nul_and_long_lines),
        cmocka_unit_test(test_path_too_long),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_cross_checks),
        cmocka_unit_test(test_key_names),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_backup_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
