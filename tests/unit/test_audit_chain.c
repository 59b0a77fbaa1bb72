/*
 * The chained audit log (src/monitor/audit.c, audit_chain.c, store_sqlite_audit.c):
 * the writer builds a chain that verifies and stores its head; every kind of tampering
 * (one byte changed, a line deleted, two lines swapped, the tail truncated against the
 * stored head, the first line deleted, a hand-appended record) fails with the exact
 * line and reason; a restart continues the chain, a new file continues it with an
 * audit.continue record, and a truncated tail at start is recorded as audit.chain_break.
 */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "monitor/audit.h"
#include "monitor/audit_chain.h"
#include "store/store.h"
#include "test_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fx {
    char base[64];
    char data[96];
    char file[96];
    char copy[96];
    struct at_store *s;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_non_null(tu_tempdir(f->base, sizeof(f->base), "audit"));
    snprintf(f->data, sizeof(f->data), "%s/data", f->base);
    snprintf(f->file, sizeof(f->file), "%s/audit.log", f->base);
    snprintf(f->copy, sizeof(f->copy), "%s/copy.log", f->base);
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_store_open(f->data, tu_kek(), &f->s, &e)));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    at_store_close(f->s);
    assert_int_equal(tu_rm_tree(f->base), 0);
    free(f);
    return 0;
}

/* Run the writer once: start, `n` management records, stop (start + n + stop records). */
static void run_writer(struct fx *f, const char *file, int n)
{
    struct at_audit_config c = {.file = file, .fsync = AT_AUDIT_FSYNC_ALWAYS, .store = f->s};
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_audit_start(&c, &e)));
    for (int i = 0; i < n; i++) {
        char target[32];
        snprintf(target, sizeof(target), "t%d", i);
        at_audit_emit(&(struct at_audit_rec){.kind = AT_AUDIT_MANAGEMENT,
                                             .principal = "alice",
                                             .operation = "policy.set",
                                             .target = target,
                                             .result = "ok"});
    }
    at_audit_stop();
}

/* The file as lines (without newlines); returns the count. */
static size_t read_lines(const char *path, char lines[][2048], size_t max)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = 0;
    while (n < max && fgets(lines[n], 2048, fp) != NULL) {
        lines[n][strcspn(lines[n], "\n")] = '\0';
        n++;
    }
    fclose(fp);
    return n;
}

static void write_lines(const char *path, char lines[][2048], const size_t *order, size_t n)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (size_t i = 0; i < n; i++) {
        fprintf(fp, "%s\n", lines[order[i]]);
    }
    fclose(fp);
}

/* Verify a file (optionally against the stored head); returns the verifier. */
static struct at_audit_verifier verify(struct fx *f, const char *path, bool with_head)
{
    struct at_audit_verifier v;
    at_audit_verifier_init(&v);
    uint64_t hs = 0;
    uint8_t raw[32];
    char hh[AT_AUDIT_HASH_HEX] = "";
    struct at_err e;
    at_err_init(&e);
    if (with_head) {
        assert_true(at_is_ok(at_store_audit_head_get(f->s, AT_AUDIT_CHAIN, &hs, raw, &e)));
        at_audit_hash_hex(raw, hh);
        v.want_seq = hs;
    }
    assert_true(at_is_ok(at_audit_verify_file(path, (size_t)1 << 30, &v, &e)));
    if (with_head) {
        at_audit_verify_head(&v, hs, hh);
    }
    return v;
}

static void expect_fail(struct at_audit_verifier v, uint64_t line, const char *reason)
{
    if (!v.failed || v.fail_line != line || strcmp(v.reason, reason) != 0) {
        fail_msg("expected line %llu: %s; got failed=%d line %llu: %s", (unsigned long long)line,
                 reason, v.failed, (unsigned long long)v.fail_line, v.reason);
    }
}

static char L[64][2048];

static void test_chain_builds_and_verifies(void **state)
{
    struct fx *f = *state;
    run_writer(f, f->file, 5);
    struct at_audit_verifier v = verify(f, f->file, true);
    assert_false(v.failed);
    assert_int_equal(v.records, 7);
    assert_int_equal(v.first_seq, 1);
    assert_int_equal(v.last_seq, 7);
    /* The stored head is the last line's seq and hash. */
    uint64_t hs = 0;
    uint8_t raw[32];
    char hh[AT_AUDIT_HASH_HEX];
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_store_audit_head_get(f->s, AT_AUDIT_CHAIN, &hs, raw, &e)));
    at_audit_hash_hex(raw, hh);
    assert_int_equal(hs, 7);
    assert_string_equal(hh, v.last_hash);
    size_t n = read_lines(f->file, L, 64);
    assert_int_equal(n, 7);
    /* Canonical form: seq, prev, time, kind first; prev of line 1 is 64 zeros. */
    assert_int_equal(strncmp(L[0], "{\"seq\":1,\"prev\":\"" AT_AUDIT_ZERO_HASH "\",\"time\":\"",
                             strlen("{\"seq\":1,\"prev\":\"" AT_AUDIT_ZERO_HASH "\",\"time\":\"")),
                     0);
    assert_non_null(strstr(L[0], "\"kind\":\"system\",\"operation\":\"start\""));
    assert_non_null(strstr(L[6], "\"operation\":\"stop\""));
    char h[AT_AUDIT_HASH_HEX];
    assert_true(at_audit_line_hash(L[2], strlen(L[2]), h));
    char want[128];
    snprintf(want, sizeof(want), "{\"seq\":4,\"prev\":\"%s\",", h);
    assert_int_equal(strncmp(L[3], want, strlen(want)), 0);
}

static void test_tampering_fails(void **state)
{
    struct fx *f = *state;
    run_writer(f, f->file, 5);
    size_t n = read_lines(f->file, L, 64);
    assert_int_equal(n, 7);
    size_t ident[7] = {0, 1, 2, 3, 4, 5, 6};

    /* One byte changed in line 3 ("t1" -> "t9"): line 4's prev no longer matches. */
    char saved[2048];
    memcpy(saved, L[2], sizeof(saved));
    char *p = strstr(L[2], "\"t1\"");
    assert_non_null(p);
    p[2] = '9';
    write_lines(f->copy, L, ident, 7);
    expect_fail(verify(f, f->copy, false), 4, "prev does not match the SHA-256 of line 3");
    memcpy(L[2], saved, sizeof(saved));

    /* One line deleted (line 3). */
    size_t del[6] = {0, 1, 3, 4, 5, 6};
    write_lines(f->copy, L, del, 6);
    expect_fail(verify(f, f->copy, false), 3, "seq 4, expected 3");

    /* Two lines swapped (3 and 4). */
    size_t swp[7] = {0, 1, 3, 2, 4, 5, 6};
    write_lines(f->copy, L, swp, 7);
    expect_fail(verify(f, f->copy, false), 3, "seq 4, expected 3");

    /* Tail truncated: verifies alone, fails against the stored head. */
    write_lines(f->copy, L, ident, 6);
    struct at_audit_verifier v = verify(f, f->copy, false);
    assert_false(v.failed);
    assert_int_equal(v.records, 6);
    expect_fail(verify(f, f->copy, true), 6,
                "the file ends at seq 6 but the stored chain head is seq 7 (records removed "
                "from the end)");

    /* First line deleted. */
    write_lines(f->copy, L, ident + 1, 6);
    expect_fail(verify(f, f->copy, false), 1,
                "the file starts at seq 2 with a record that is not audit.continue (records "
                "deleted before it?)");

    /* A record appended by hand without a valid prev. */
    snprintf(L[7], sizeof(L[7]),
             "{\"seq\":8,\"prev\":\"%s\",\"time\":\"2026-01-01T00:00:00Z\",\"kind\":\"system\"}",
             AT_AUDIT_ZERO_HASH);
    size_t app[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    write_lines(f->copy, L, app, 8);
    expect_fail(verify(f, f->copy, false), 8, "prev does not match the SHA-256 of line 7");

    /* Not JSON, missing seq, a torn last line, an empty file. */
    snprintf(L[7], sizeof(L[7]), "not json");
    write_lines(f->copy, L, app, 8);
    expect_fail(verify(f, f->copy, false), 8, "not a JSON object");
    snprintf(L[7], sizeof(L[7]), "{\"prev\":\"%s\",\"time\":\"x\",\"kind\":\"system\"}",
             AT_AUDIT_ZERO_HASH);
    write_lines(f->copy, L, app, 8);
    expect_fail(verify(f, f->copy, false), 8, "missing or invalid seq");
    FILE *fp = fopen(f->copy, "w");
    assert_non_null(fp);
    fprintf(fp, "%s\n%s", L[0], L[1]);
    fclose(fp);
    expect_fail(verify(f, f->copy, false), 2,
                "the file does not end with a newline (truncated record)");
    fp = fopen(f->copy, "w");
    assert_non_null(fp);
    fclose(fp);
    expect_fail(verify(f, f->copy, false), 1, "the file holds no records");
}

static void test_restart_and_rotation_continue(void **state)
{
    struct fx *f = *state;
    run_writer(f, f->file, 2); /* seq 1..4 */
    run_writer(f, f->file, 1); /* restart: seq 5..7 in the same file */
    struct at_audit_verifier v = verify(f, f->file, true);
    assert_false(v.failed);
    assert_int_equal(v.records, 7);
    /* A new, empty file (rotated while stopped) continues with audit.continue. */
    assert_int_equal(rename(f->file, f->copy), 0);
    run_writer(f, f->file, 1);
    v = verify(f, f->file, true);
    assert_false(v.failed);
    assert_int_equal(v.first_seq, 8);
    assert_int_equal(v.last_seq, 11);
    size_t n = read_lines(f->file, L, 64);
    assert_int_equal(n, 4);
    assert_non_null(strstr(L[0], "\"operation\":\"audit.continue\""));
    /* Old file then new file: one chain. */
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "cat '%s' '%s' > '%s/all.log'", f->copy, f->file, f->base);
    assert_int_equal(system(cmd), 0);
    char all[128];
    snprintf(all, sizeof(all), "%s/all.log", f->base);
    v = verify(f, all, true);
    assert_false(v.failed);
    assert_int_equal(v.records, 11);
}

static void test_truncated_tail_at_start_is_a_break(void **state)
{
    struct fx *f = *state;
    run_writer(f, f->file, 3); /* seq 1..5 */
    size_t n = read_lines(f->file, L, 64);
    assert_int_equal(n, 5);
    size_t ident[5] = {0, 1, 2, 3, 4};
    write_lines(f->file, L, ident, 3); /* drop seq 4 and 5 */
    run_writer(f, f->file, 0);
    n = read_lines(f->file, L, 64);
    assert_int_equal(n, 6);
    assert_non_null(strstr(L[3], "\"seq\":4,"));
    assert_non_null(strstr(L[3], "\"operation\":\"audit.chain_break\""));
    assert_non_null(strstr(L[3], "but the stored chain head is seq 5"));
    expect_fail(verify(f, f->file, false), 4,
                "the daemon recorded a chain break here (audit.chain_break)");
}

static void test_torn_tail_at_start_is_a_break(void **state)
{
    struct fx *f = *state;
    run_writer(f, f->file, 1); /* seq 1..3 */
    FILE *fp = fopen(f->file, "a");
    assert_non_null(fp);
    fputs("{\"seq\":4,\"prev\":\"ab", fp); /* a torn write */
    fclose(fp);
    run_writer(f, f->file, 0);
    size_t n = read_lines(f->file, L, 64);
    assert_int_equal(n, 7);
    assert_string_equal(L[3], "{\"seq\":4,\"prev\":\"ab");
    /* The chain continues from the last complete record (seq 3). */
    assert_non_null(strstr(L[4], "\"seq\":4,"));
    assert_non_null(strstr(L[4], "\"operation\":\"audit.chain_break\""));
    assert_non_null(strstr(L[4], "partial record"));
    expect_fail(verify(f, f->file, false), 4, "not a JSON object");
}

#define N_THREADS 4
#define N_EACH    300

static void *emitter(void *arg)
{
    (void)arg;
    for (int i = 0; i < N_EACH; i++) {
        at_audit_emit(&(struct at_audit_rec){.kind = AT_AUDIT_ATTESTATION,
                                             .operation = "attest",
                                             .result = "ok",
                                             .evidence_sha256 = AT_AUDIT_ZERO_HASH});
    }
    return NULL;
}

static void test_concurrent_emitters(void **state)
{
    struct fx *f = *state;
    struct at_audit_config c = {.file = f->file, .fsync = AT_AUDIT_FSYNC_INTERVAL, .store = f->s};
    struct at_err e;
    at_err_init(&e);
    assert_true(at_is_ok(at_audit_start(&c, &e)));
    pthread_t t[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, emitter, NULL), 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(t[i], NULL);
    }
    at_audit_stop();
    struct at_audit_verifier v = verify(f, f->file, true);
    assert_false(v.failed);
    assert_int_equal(v.records, N_THREADS * N_EACH + 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chain_builds_and_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampering_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_and_rotation_continue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_tail_at_start_is_a_break, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_at_start_is_a_break, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_emitters, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
