/*
 * attestctl audit verify FILE [--data-dir DIR]: check an audit log's hash chain
 * (docs/audit-log.md). With --data-dir (or the global one) the file's end is also
 * compared with the chain head in the store, which detects records cut from the end.
 *
 *   exit 0: "audit ok: N records, seq A..B, head HASH"
 *   exit 1: "audit verify: line N: REASON" (the first failure)
 *   exit 2: usage, unreadable file or store
 */
#include "cli/cli.h"
#include "monitor/audit_chain.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

#define AUDIT_FILE_MAX ((size_t)1 << 40) /* a cap on the bytes read, not a practical limit */

static void usage(FILE *f)
{
    fprintf(f, "usage: attestctl audit verify FILE [--data-dir DIR]\n"
               "  checks every line is a JSON record, seq is consecutive and prev is the\n"
               "  SHA-256 of the previous line; with --data-dir also that the file ends at\n"
               "  the chain head stored by attestd (detects records removed from the end)\n");
}

static int verify(int argc, char **argv)
{
    const char *file = NULL;
    bool with_store = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < argc && argv[i + 1][0] != '\0') {
            at_cli_set_data_dir(argv[++i]);
            with_store = true;
        } else if (strncmp(argv[i], "--data-dir=", 11) == 0 && argv[i][11] != '\0') {
            at_cli_set_data_dir(argv[i] + 11);
            with_store = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] != '-' && file == NULL) {
            file = argv[i];
        } else {
            fprintf(stderr, "attestctl audit verify: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (file == NULL) {
        usage(stderr);
        return 2;
    }
    with_store = with_store || at_cli_data_dir_given();
    uint64_t head_seq = 0;
    char head_hash[AT_AUDIT_HASH_HEX] = "";
    bool have_head = false;
    if (with_store) {
        struct at_store *store = NULL;
        int rc = at_cli_store_open("audit verify", &store);
        if (rc != 0) {
            return rc;
        }
        struct at_err e;
        at_err_init(&e);
        uint8_t raw[32];
        at_status s = at_store_audit_head_get(store, AT_AUDIT_CHAIN, &head_seq, raw, &e);
        at_store_close(store);
        if (at_is_ok(s)) {
            have_head = true;
            at_audit_hash_hex(raw, head_hash);
        } else if (s.code == AT_E_NOT_FOUND) {
            printf("audit verify: line 0: the store holds no audit chain head\n");
            return 1;
        } else {
            fprintf(stderr, "attestctl audit verify: %s\n", e.msg);
            return 2;
        }
    }
    struct at_audit_verifier v;
    at_audit_verifier_init(&v);
    v.want_seq = have_head ? head_seq : 0;
    struct at_err e;
    at_err_init(&e);
    if (!at_is_ok(at_audit_verify_file(file, AUDIT_FILE_MAX, &v, &e))) {
        fprintf(stderr, "attestctl audit verify: %s\n", e.msg);
        return 2;
    }
    if (have_head) {
        at_audit_verify_head(&v, head_seq, head_hash);
    }
    if (v.failed) {
        printf("audit verify: line %llu: %s\n", (unsigned long long)v.fail_line, v.reason);
        return 1;
    }
    printf("audit ok: %llu records, seq %llu..%llu, head %s\n", (unsigned long long)v.records,
           (unsigned long long)v.first_seq, (unsigned long long)v.last_seq, v.last_hash);
    return 0;
}

int at_cli_audit(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "verify") == 0) {
        return verify(argc - 1, argv + 1);
    }
    fprintf(stderr, "attestctl audit: unknown subcommand '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
