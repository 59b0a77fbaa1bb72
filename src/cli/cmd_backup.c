/*
 * attestctl backup (issue 7; docs/recovery-runbook.md has the contract):
 *
 *   attestctl [--data-dir DIR] backup create --out FILE [--key-file F | --passphrase-file F]
 *             [--config CONF]
 *   attestctl backup verify FILE [--key-file F | --passphrase-file F]
 *   attestctl [--data-dir DIR] backup restore FILE [--key-file F | --passphrase-file F]
 *             [--dry-run]
 *
 * Without --key-file / --passphrase-file the passphrase comes from
 * $ATTESTD_BACKUP_PASSPHRASE. Exit codes: 0 ok; 1 the backup failed verification
 * (header, integrity, decryption, JSON, schema), the store is not empty, or the
 * operation failed; 2 usage, unreadable files or keys, or the store cannot be opened.
 */
#include "backup/backup.h"
#include "base/fileio.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "monitor/audit.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONF_MAX ((size_t)64 * 1024)

static void usage(FILE *f)
{
    fprintf(f, "usage: attestctl [--data-dir DIR] backup create --out FILE "
               "[--key-file F | --passphrase-file F] [--config CONF]\n"
               "       attestctl backup verify FILE [--key-file F | --passphrase-file F]\n"
               "       attestctl [--data-dir DIR] backup restore FILE "
               "[--key-file F | --passphrase-file F] [--dry-run]\n"
               "The passphrase defaults to $ATTESTD_BACKUP_PASSPHRASE. "
               "Exit: 0 ok, 1 failed, 2 usage or I/O.\n");
}

struct opts {
    const char *out, *key_file, *pass_file, *config, *file;
    bool dry_run;
};

/* --name VALUE or --name=VALUE; returns the number of args used, 0 if not this option. */
static int opt_value(int argc, char **argv, int i, const char *name, const char **slot)
{
    size_t n = strlen(name);
    if (strncmp(argv[i], name, n) != 0) {
        return 0;
    }
    if (argv[i][n] == '=' && argv[i][n + 1] != '\0') {
        *slot = argv[i] + n + 1;
        return 1;
    }
    if (argv[i][n] == '\0' && i + 1 < argc && argv[i + 1][0] != '\0') {
        *slot = argv[i + 1];
        return 2;
    }
    return argv[i][n] == '\0' || argv[i][n] == '=' ? -1 : 0;
}

/* 0 ok, 2 usage error (printed). */
static int parse(const char *cmd, int argc, char **argv, bool want_file, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    for (int i = 0; i < argc;) {
        static const char *const names[] = {"--out", "--key-file", "--passphrase-file", "--config"};
        const char **slots[] = {&o->out, &o->key_file, &o->pass_file, &o->config};
        int used = 0;
        for (size_t k = 0; k < 4 && used == 0; k++) {
            used = opt_value(argc, argv, i, names[k], slots[k]);
        }
        if (used < 0) {
            fprintf(stderr, "attestctl backup %s: %s needs a value\n", cmd, argv[i]);
            return 2;
        }
        if (used > 0) {
            i += used;
            continue;
        }
        if (strcmp(argv[i], "--dry-run") == 0) {
            o->dry_run = true;
        } else if (want_file && argv[i][0] != '-' && o->file == NULL) {
            o->file = argv[i];
        } else {
            fprintf(stderr, "attestctl backup %s: unexpected argument '%s'\n", cmd, argv[i]);
            usage(stderr);
            return 2;
        }
        i++;
    }
    if (o->key_file != NULL && o->pass_file != NULL) {
        fprintf(stderr, "attestctl backup %s: give --key-file or --passphrase-file, not both\n",
                cmd);
        return 2;
    }
    if (want_file && o->file == NULL) {
        fprintf(stderr, "attestctl backup %s: missing FILE\n", cmd);
        usage(stderr);
        return 2;
    }
    return 0;
}

static int load_key(const char *cmd, const struct opts *o, struct at_backup_key *k)
{
    struct at_err e;
    at_err_init(&e);
    at_status s = o->key_file != NULL ? at_backup_key_load(o->key_file, k, &e)
                                      : at_backup_passphrase_load(o->pass_file, k, &e);
    if (!at_is_ok(s)) {
        fprintf(stderr, "attestctl backup %s: %s\n", cmd, e.msg);
        return 2;
    }
    return 0;
}

/* The oidc_config path named in a config file (a plain scan of `key = value` lines). */
static char *conf_oidc_path(const uint8_t *text, size_t len)
{
    const char *p = (const char *)text, *end = p + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl != NULL ? nl : end;
        while (p < le && (*p == ' ' || *p == '\t')) {
            p++;
        }
        size_t kl = strlen("oidc_config");
        if ((size_t)(le - p) > kl && memcmp(p, "oidc_config", kl) == 0) {
            const char *v = p + kl;
            while (v < le && (*v == ' ' || *v == '\t')) {
                v++;
            }
            if (v < le && *v == '=') {
                v++;
                while (v < le && (*v == ' ' || *v == '\t')) {
                    v++;
                }
                const char *ve = le;
                while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r')) {
                    ve--;
                }
                if (ve > v) {
                    char *out = malloc((size_t)(ve - v) + 1);
                    if (out != NULL) {
                        memcpy(out, v, (size_t)(ve - v));
                        out[ve - v] = '\0';
                    }
                    return out;
                }
            }
        }
        p = le + 1;
    }
    return NULL;
}

/* One audit record per backup made or restore attempted (audit.h; stderr until issue 6). */
static void audit(enum at_audit_kind kind, const char *op, const char *file, const char *result)
{
    struct at_audit_rec r;
    memset(&r, 0, sizeof(r));
    r.kind = kind;
    r.operation = op;
    r.target = file;
    r.result = result;
    r.detail = "attestctl";
    at_audit_emit(&r);
}

static void print_counts(FILE *f, const struct at_backup_counts *c)
{
    fprintf(f, "%zu providers, %zu policies, %zu signer certificates, %zu role assignments",
            c->providers, c->policies, c->signers, c->roles);
}

static int cmd_create(int argc, char **argv)
{
    struct opts o;
    if (parse("create", argc, argv, false, &o) != 0) {
        return 2;
    }
    if (o.out == NULL) {
        fprintf(stderr, "attestctl backup create: missing --out FILE\n");
        return 2;
    }
    char *oidc = NULL;
    if (o.config != NULL) {
        uint8_t *text = NULL;
        size_t len = 0;
        struct at_err ce;
        at_err_init(&ce);
        if (!at_is_ok(at_file_read(o.config, CONF_MAX, &text, &len, &ce))) {
            fprintf(stderr, "attestctl backup create: %s\n", ce.msg);
            return 2;
        }
        oidc = conf_oidc_path(text, len);
        free(text);
    }
    struct at_backup_key k;
    memset(&k, 0, sizeof(k));
    int rc = load_key("create", &o, &k);
    struct at_store *st = NULL;
    if (rc == 0) {
        rc = at_cli_store_open("backup create", &st);
    }
    if (rc == 0) {
        struct at_err e;
        at_err_init(&e);
        struct at_backup_meta m = {
            .config_path = o.config, .oidc_config_path = oidc, .now = at_time_now()};
        struct at_backup_counts c;
        if (at_is_ok(at_backup_create_file(st, at_cli_data_dir(), &m, &k, o.out, &c, &e))) {
            printf("backup written: %s (", o.out);
            print_counts(stdout, &c);
            printf(")\n");
            audit(AT_AUDIT_BACKUP, "backup.create", o.out, "ok");
        } else {
            fprintf(stderr, "attestctl backup create: %s\n", e.msg);
            rc = at_cli_exit_code(&e);
            audit(AT_AUDIT_BACKUP, "backup.create", o.out, at_code_name(e.code));
        }
    }
    at_store_close(st);
    at_backup_key_clear(&k);
    free(oidc);
    return rc;
}

/* Read, decrypt and check FILE; prints the failure; exit code. */
static int read_checked(const char *cmd, const struct opts *o, json_t **doc)
{
    struct at_backup_key k;
    memset(&k, 0, sizeof(k));
    int rc = load_key(cmd, o, &k);
    if (rc != 0) {
        return rc;
    }
    struct at_err e;
    at_err_init(&e);
    at_status s = at_backup_read_file(o->file, &k, doc, &e);
    at_backup_key_clear(&k);
    if (!at_is_ok(s)) {
        fprintf(stderr, "attestctl backup %s: %s: %s\n", cmd, o->file, e.msg);
        /* Unreadable (missing, permissions) is I/O; everything else is the backup's fault. */
        return e.code == AT_E_IO || e.code == AT_E_NOMEM || e.code == AT_E_USAGE ? 2 : 1;
    }
    return 0;
}

static int cmd_verify(int argc, char **argv)
{
    struct opts o;
    if (parse("verify", argc, argv, true, &o) != 0) {
        return 2;
    }
    json_t *doc = NULL;
    int rc = read_checked("verify", &o, &doc);
    if (rc != 0) {
        return rc;
    }
    struct at_backup_counts c;
    struct at_err e;
    at_err_init(&e);
    at_status s = at_backup_check_doc(doc, &c, &e);
    at_assert(at_is_ok(s));
    printf("backup ok: format %d, created %s, attestd %s, store schema %lld: ", AT_BACKUP_FORMAT,
           json_string_value(json_object_get(doc, "created_at")),
           json_string_value(json_object_get(doc, "attestd_version")),
           (long long)json_integer_value(json_object_get(doc, "store_schema_version")));
    print_counts(stdout, &c);
    printf("\n");
    at_backup_doc_free(doc);
    return 0;
}

static int cmd_restore(int argc, char **argv)
{
    struct opts o;
    if (parse("restore", argc, argv, true, &o) != 0) {
        return 2;
    }
    /* Verify fully before the store is even opened: a bad backup changes nothing. */
    json_t *doc = NULL;
    int rc = read_checked("restore", &o, &doc);
    if (rc != 0) {
        return rc;
    }
    struct at_store *st = NULL;
    char db[4200];
    snprintf(db, sizeof(db), "%s/attestd.db", at_cli_data_dir());
    /* A dry run against no store at all compares with an empty one and creates nothing. */
    bool no_store = o.dry_run && !at_path_exists(db);
    rc = no_store ? 0 : at_cli_store_open("backup restore", &st);
    struct at_err e;
    at_err_init(&e);
    if (rc == 0 && o.dry_run) {
        json_t *cur = NULL;
        struct at_backup_meta m = {.now = at_time_now()};
        at_status s = at_ok();
        if (no_store) {
            cur = json_pack("{s:[], s:[]}", "providers", "role_assignments");
        } else {
            s = at_backup_collect(st, &m, &cur, &e);
        }
        if (at_is_ok(s)) {
            s = at_backup_diff(cur, doc, stdout, NULL, &e);
        }
        at_backup_doc_free(cur);
        if (!at_is_ok(s)) {
            fprintf(stderr, "attestctl backup restore: %s\n", e.msg);
            rc = at_cli_exit_code(&e);
        }
    } else if (rc == 0) {
        struct at_backup_counts c;
        at_status s = at_backup_check_doc(doc, &c, &e);
        if (at_is_ok(s)) {
            s = at_backup_restore(st, at_cli_data_dir(), doc, &e);
        }
        if (at_is_ok(s)) {
            printf("restored: ");
            print_counts(stdout, &c);
            printf("\n");
        } else {
            fprintf(stderr, "attestctl backup restore: %s\n", e.msg);
            rc = e.code == AT_E_NOMEM ? 2 : 1;
        }
        audit(AT_AUDIT_SYSTEM, "backup.restore", o.file, rc == 0 ? "ok" : at_code_name(e.code));
    }
    at_store_close(st);
    at_backup_doc_free(doc);
    return rc;
}

int at_cli_backup(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "create") == 0) {
        return cmd_create(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "verify") == 0) {
        return cmd_verify(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "restore") == 0) {
        return cmd_restore(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "attestctl backup: unknown subcommand '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
