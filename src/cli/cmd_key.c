/*
 * attestctl key: the store's envelope encryption keys (docs/encryption-at-rest.md).
 *
 *   attestctl key generate --out FILE
 *       a new random key-encryption key, 64 hex characters, FILE created 0600
 *       (refuses to overwrite)
 *   attestctl [--data-dir DIR] [--kek-file OLD] key rotate --new-kek-file NEW [--reencrypt]
 *       re-wrap the data key under NEW; with --reencrypt also make a new data key and
 *       re-encrypt every record under it (one transaction; the old data key is removed).
 *       A running attestd on the same store keeps serving (docs: operator procedure).
 *   attestctl [--data-dir DIR] [--kek-file F] key status
 *       data key ids and states, and where the KEK came from (never key bytes)
 *
 * Exit 0 ok, 1 refused (wrong key, ...), 2 usage or I/O errors.
 */
#include "base/timeutil.h"
#include "cli/cli.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: attestctl key generate --out FILE\n"
               "       attestctl [--data-dir DIR] [--kek-file OLD] key rotate --new-kek-file NEW "
               "[--reencrypt]\n"
               "       attestctl [--data-dir DIR] [--kek-file FILE] key status\n");
}

static int fail(const char *sub, const struct at_err *e)
{
    fprintf(stderr, "attestctl key %s: %s\n", sub, e->msg);
    return at_cli_exit_code(e);
}

static int generate(int argc, char **argv)
{
    const char *out = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc && argv[i + 1][0] != '\0') {
            out = argv[++i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (out == NULL) {
        usage(stderr);
        return 2;
    }
    struct at_err e;
    at_err_init(&e);
    if (!at_is_ok(at_kek_generate_file(out, &e))) {
        return fail("generate", &e);
    }
    printf("wrote a new key-encryption key to %s (mode 0600)\n", out);
    return 0;
}

static int rotate(int argc, char **argv)
{
    const char *newf = NULL;
    bool reencrypt = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--new-kek-file") == 0 && i + 1 < argc && argv[i + 1][0] != '\0') {
            newf = argv[++i];
        } else if (strcmp(argv[i], "--reencrypt") == 0) {
            reencrypt = true;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (newf == NULL) {
        usage(stderr);
        return 2;
    }
    struct at_err e;
    at_err_init(&e);
    struct at_kek nk;
    if (!at_is_ok(at_kek_load(newf, &nk, &e))) {
        at_err_context(&e, "new key: ");
        return fail("rotate", &e);
    }
    struct at_store *s = NULL;
    int rc = at_cli_store_open("key rotate", &s);
    if (rc == 0) {
        if (at_is_ok(at_store_rekey(s, &nk, reencrypt, &e))) {
            printf("%s: data key %s under the new key-encryption key\n", at_cli_data_dir(),
                   reencrypt ? "replaced and every record re-encrypted" : "re-wrapped");
        } else {
            rc = fail("rotate", &e);
        }
        at_store_close(s);
    }
    at_kek_clear(&nk);
    return rc;
}

static int status(int argc)
{
    if (argc != 0) {
        usage(stderr);
        return 2;
    }
    struct at_store *s = NULL;
    int rc = at_cli_store_open("key status", &s);
    if (rc != 0) {
        return rc;
    }
    struct at_err e;
    at_err_init(&e);
    struct at_store_key_info *v = NULL;
    size_t n = 0;
    enum at_kek_source src = AT_KEK_SRC_NONE;
    if (at_is_ok(at_store_key_status(s, &v, &n, &src, &e))) {
        printf("kek_source: %s\n", at_kek_source_name(src));
        for (size_t i = 0; i < n; i++) {
            char when[32] = "";
            at_time_format(v[i].created_at, when, sizeof(when));
            printf("data_key %u %s created %s\n", (unsigned)v[i].id,
                   v[i].active ? "active" : "retired", when);
        }
    } else {
        rc = fail("status", &e);
    }
    free(v);
    at_store_close(s);
    return rc;
}

int at_cli_key(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "generate") == 0) {
        return generate(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "rotate") == 0) {
        return rotate(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "status") == 0) {
        return status(argc - 2);
    }
    usage(stderr);
    return 2;
}
