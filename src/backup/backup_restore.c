/*
 * Backup files on disk and restores (backup.h): the online create (snapshot, collect,
 * seal, atomic write), the empty-store rule, applying a document to a fresh store,
 * the atomic restore and the dry-run difference.
 */
#include "backup/backup.h"
#include "base/encoding.h"
#include "base/secure.h"
#include "crypto/digest.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_CAP 4200

static at_status nomem(struct at_err *e)
{
    AT_FAIL(e, AT_E_NOMEM, "backup", "out of memory");
}

void at_backup_rm_store_dir(const char *dir)
{
    static const char *const files[] = {"attestd.db", "attestd.db-wal", "attestd.db-shm",
                                        "attestd.db-journal"};
    char p[PATH_CAP];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

/*
 * THE one place this module opens a store: a snapshot copy of `live`, or the temp store a
 * restore builds to replace `live`. Both must be opened under the same key-encryption key
 * as `live` (records are encrypted at rest; a restore's new store must be readable by the
 * attestd that owns `live`).
 */
static at_status open_beside(struct at_store *live, const char *dir, struct at_store **out,
                             struct at_err *e)
{
    return at_store_open_beside(live, dir, out, e);
}

/* A new 0700 directory PARENT/.PREFIX-XXXXXX (path in buf). */
static at_status make_temp_dir(const char *parent, const char *prefix, char *buf, size_t cap,
                               struct at_err *e)
{
    int n = snprintf(buf, cap, "%s/.%s-XXXXXX", parent, prefix);
    AT_ENSURE(n > 0 && (size_t)n < cap, e, AT_E_BAD_VALUE, "backup", "path too long");
    if (mkdtemp(buf) == NULL) {
        AT_FAIL(e, AT_E_IO, "backup", "cannot create a temporary directory in %s: %s", parent,
                strerror(errno));
    }
    return at_ok();
}

/* Write data to path atomically: PATH.tmp-XXXXXX (0600), fsync, rename, fsync the dir. */
static at_status write_atomic(const char *path, const uint8_t *data, size_t len, struct at_err *e)
{
    char tmp[PATH_CAP];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path);
    AT_ENSURE(n > 0 && (size_t)n < sizeof(tmp), e, AT_E_BAD_VALUE, "backup", "path too long");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        AT_FAIL(e, AT_E_IO, "backup_write", "cannot create %s: %s", tmp, strerror(errno));
    }
    int err = 0;
    if (fchmod(fd, 0600) != 0) {
        err = errno;
    }
    for (size_t off = 0; err == 0 && off < len;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            err = w < 0 ? errno : EIO;
            break;
        }
        off += (size_t)w;
    }
    if (err == 0 && fsync(fd) != 0) {
        err = errno;
    }
    if (close(fd) != 0 && err == 0) {
        err = errno;
    }
    if (err == 0 && rename(tmp, path) != 0) {
        err = errno;
    }
    if (err != 0) {
        unlink(tmp);
        AT_FAIL(e, AT_E_IO, "backup_write", "cannot write %s: %s", path, strerror(err));
    }
    /* Make the rename durable. */
    char dir[PATH_CAP];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) {
        slash[1] = '\0';
    } else if (slash != NULL) {
        *slash = '\0';
    } else {
        snprintf(dir, sizeof(dir), ".");
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return at_ok();
}

at_status at_backup_create_file(struct at_store *live, const char *tmp_parent,
                                const struct at_backup_meta *m, const struct at_backup_key *k,
                                const char *out_path, struct at_backup_counts *counts,
                                struct at_err *e)
{
    char dir[PATH_CAP];
    AT_TRY(make_temp_dir(tmp_parent, "snapshot", dir, sizeof(dir), e));
    at_status s = at_store_snapshot(live, dir, e);
    struct at_store *copy = NULL;
    if (at_is_ok(s)) {
        s = open_beside(live, dir, &copy, e);
    }
    json_t *doc = NULL;
    if (at_is_ok(s)) {
        s = at_backup_collect(copy, m, &doc, e);
    }
    at_store_close(copy);
    at_backup_rm_store_dir(dir);
    if (at_is_ok(s) && counts != NULL) {
        s = at_backup_check_doc(doc, counts, e);
    }
    uint8_t *file = NULL;
    size_t len = 0;
    if (at_is_ok(s)) {
        s = at_backup_seal(doc, k, &file, &len, e);
    }
    at_backup_doc_free(doc);
    if (at_is_ok(s)) {
        s = write_atomic(out_path, file, len, e);
    }
    free(file);
    return s;
}

/* ------------------------------------------------------------------ restore */

at_status at_backup_store_empty(struct at_store *s, bool *empty, char *why, size_t why_cap,
                                struct at_err *e)
{
    *empty = false;
    char **names = NULL;
    size_t n = 0;
    AT_TRY(at_store_provider_list(s, &names, &n, e));
    bool only_default = n == 0 || (n == 1 && strcmp(names[0], AT_PROVIDER_DEFAULT) == 0);
    at_store_strings_free(names, n);
    if (!only_default) {
        snprintf(why, why_cap, "it holds %zu provider(s) besides an auto-created \"default\"", n);
        return at_ok();
    }
    if (n == 1) {
        char **types = NULL;
        size_t nt = 0;
        AT_TRY(at_store_policy_list(s, AT_PROVIDER_DEFAULT, &types, &nt, e));
        at_store_strings_free(types, nt);
        uint8_t **ders = NULL;
        size_t *lens = NULL, ns = 0;
        AT_TRY(at_store_signer_list(s, AT_PROVIDER_DEFAULT, &ders, &lens, &ns, e));
        at_store_signers_free(ders, lens, ns);
        if (nt + ns > 0) {
            snprintf(why, why_cap, "provider \"default\" has policies or signer certificates");
            return at_ok();
        }
    }
    struct at_role_assignment *ra = NULL;
    size_t nr = 0;
    AT_TRY(at_store_role_list(s, NULL, &ra, &nr, e));
    free(ra);
    if (nr > 0) {
        snprintf(why, why_cap, "it holds %zu role assignment(s)", nr);
        return at_ok();
    }
    int64_t nc = 0;
    AT_TRY(at_store_collateral_count(s, &nc, e));
    if (nc > 0) {
        snprintf(why, why_cap, "it holds collateral (restore first, then import collateral)");
        return at_ok();
    }
    *empty = true;
    return at_ok();
}

static at_status decode(const json_t *v, bool secret, uint8_t **out, size_t *len, struct at_err *e)
{
    const char *s = json_string_value(v);
    AT_ENSURE(s != NULL, e, AT_E_BAD_VALUE, "backup_schema", "schema: missing base64url value");
    return secret ? at_b64_decode_any(s, strlen(s), out, len, e)
                  : at_b64_decode_public(s, strlen(s), out, len, e);
}

static at_status apply_provider(struct at_store *s, const json_t *jp, struct at_err *e)
{
    struct at_provider p;
    memset(&p, 0, sizeof(p));
    const char *name = json_string_value(json_object_get(jp, "name"));
    const char *alg = json_string_value(json_object_get(jp, "alg"));
    AT_ENSURE(name != NULL && strlen(name) < sizeof(p.name) && alg != NULL &&
                  strlen(alg) < sizeof(p.alg),
              e, AT_E_BAD_VALUE, "backup_schema", "schema: bad provider");
    memcpy(p.name, name, strlen(name) + 1);
    memcpy(p.alg, alg, strlen(alg) + 1);
    p.mode = strcmp(json_string_value(json_object_get(jp, "mode")), "isolated") == 0
                 ? AT_MODE_ISOLATED
                 : AT_MODE_AAD;
    p.token_lifetime_s = json_integer_value(json_object_get(jp, "token_lifetime_s"));
    p.created_at = json_integer_value(json_object_get(jp, "created_at"));
    p.require_token_for_attestation = json_is_true(json_object_get(jp, "require_token"));
    at_status r =
        decode(json_object_get(jp, "signing_key"), true, &p.signing_key, &p.signing_key_len, e);
    if (at_is_ok(r)) {
        r = decode(json_object_get(jp, "signing_cert"), false, &p.signing_cert, &p.signing_cert_len,
                   e);
    }
    if (at_is_ok(r)) {
        r = at_store_provider_create(s, &p, e);
    }
    at_provider_clear(&p);
    const char *nets = json_string_value(json_object_get(jp, "allowed_networks"));
    if (at_is_ok(r) && nets != NULL) {
        r = at_store_provider_networks_set(s, name, nets, e);
    }
    const json_t *pols = json_object_get(jp, "policies");
    for (size_t i = 0; at_is_ok(r) && i < json_array_size(pols); i++) {
        const json_t *pol = json_array_get(pols, i);
        uint8_t *text = NULL;
        size_t len = 0;
        r = decode(json_object_get(pol, "text"), false, &text, &len, e);
        if (at_is_ok(r)) {
            r = at_store_policy_set(s, name, json_string_value(json_object_get(pol, "type")),
                                    (const char *)text, len,
                                    json_string_value(json_object_get(pol, "jws")), e);
        }
        free(text);
    }
    const json_t *signers = json_object_get(jp, "signer_certs");
    for (size_t i = 0; at_is_ok(r) && i < json_array_size(signers); i++) {
        uint8_t *der = NULL;
        size_t len = 0;
        r = decode(json_array_get(signers, i), false, &der, &len, e);
        if (at_is_ok(r)) {
            r = at_store_signer_add(s, name, der, len, e);
        }
        free(der);
    }
    if (!at_is_ok(r)) {
        at_err_context(e, name);
    }
    return r;
}

at_status at_backup_apply(struct at_store *s, const json_t *doc, struct at_err *e)
{
    const json_t *provs = json_object_get(doc, "providers");
    for (size_t i = 0; i < json_array_size(provs); i++) {
        AT_TRY(apply_provider(s, json_array_get(provs, i), e));
    }
    const json_t *roles = json_object_get(doc, "role_assignments");
    for (size_t i = 0; i < json_array_size(roles); i++) {
        const json_t *r = json_array_get(roles, i);
        AT_TRY(at_store_role_assign(s, json_string_value(json_object_get(r, "principal")),
                                    json_string_value(json_object_get(r, "role")),
                                    json_string_value(json_object_get(r, "scope")), e));
    }
    return at_ok();
}

at_status at_backup_restore(struct at_store *live, const char *data_dir, const json_t *doc,
                            struct at_err *e)
{
    AT_TRY(at_backup_check_doc(doc, NULL, e));
    bool empty = false;
    char why[160] = "";
    AT_TRY(at_backup_store_empty(live, &empty, why, sizeof(why), e));
    AT_ENSURE(empty, e, AT_E_BAD_VALUE, "restore_not_empty", "the store is not empty: %s", why);
    char dir[PATH_CAP];
    AT_TRY(make_temp_dir(data_dir, "restore", dir, sizeof(dir), e));
    struct at_store *fresh = NULL;
    at_status s = open_beside(live, dir, &fresh, e);
    if (at_is_ok(s)) {
        s = at_backup_apply(fresh, doc, e);
        if (!at_is_ok(s)) {
            at_err_context(e, "restore");
        }
    }
    at_store_close(fresh); /* checkpoints: the temp database is whole in its main file */
    if (at_is_ok(s)) {
        s = at_store_replace_from(live, dir, e);
    }
    at_backup_rm_store_dir(dir);
    return s;
}

/* ---------------------------------------------------------------- dry run */

static const json_t *find_by(const json_t *arr, const char *k1, const char *v1, const char *k2,
                             const char *v2)
{
    size_t i;
    const json_t *o;
    json_array_foreach(arr, i, o)
    {
        const char *a = json_string_value(json_object_get(o, k1));
        const char *b = k2 != NULL ? json_string_value(json_object_get(o, k2)) : NULL;
        if (a != NULL && strcmp(a, v1) == 0 && (k2 == NULL || (b != NULL && strcmp(b, v2) == 0))) {
            return o;
        }
    }
    return NULL;
}

static bool str_member_eq(const json_t *a, const json_t *b, const char *key)
{
    const json_t *x = json_object_get(a, key), *y = json_object_get(b, key);
    if ((x == NULL || json_is_null(x)) && (y == NULL || json_is_null(y))) {
        return true; /* absent (an older backup) and null both mean "none" */
    }
    if (json_is_string(x) && json_is_string(y)) {
        return json_string_length(x) == json_string_length(y) &&
               at_ct_equal(json_string_value(x), json_string_value(y), json_string_length(x));
    }
    return json_equal(x, y) != 0;
}

/* SHA-256 hex of a base64url DER (for display). */
static void der_sha(const json_t *v, char out[65])
{
    snprintf(out, 65, "?");
    uint8_t *der = NULL;
    size_t len = 0;
    struct at_err ig;
    at_err_init(&ig);
    const char *s = json_string_value(v);
    uint8_t h[AT_SHA256_LEN];
    if (s != NULL && at_is_ok(at_b64_decode_public(s, strlen(s), &der, &len, &ig)) &&
        at_sha256(der, len, h) == 0) {
        at_hex_encode(h, sizeof(h), out);
    }
    free(der);
}

struct tally {
    size_t added, removed, changed;
};

/* Items of `from` absent in `other`, by string equality, printed with sign. */
static void diff_signers(FILE *f, const char *name, const json_t *from, const json_t *other,
                         char sign, size_t *count)
{
    size_t i;
    const json_t *v;
    json_array_foreach(from, i, v)
    {
        bool found = false;
        size_t j;
        const json_t *w;
        json_array_foreach(other, j, w)
        {
            found = found || json_equal(v, w);
        }
        if (!found) {
            char sha[65];
            der_sha(v, sha);
            fprintf(f, "%c signer %s %s\n", sign, name, sha);
            (*count)++;
        }
    }
}

static void diff_policies(FILE *f, const char *name, const json_t *cur, const json_t *bak,
                          struct tally *t)
{
    const json_t *cp = json_object_get(cur, "policies"), *bp = json_object_get(bak, "policies");
    size_t i;
    const json_t *p;
    json_array_foreach(bp, i, p)
    {
        const char *type = json_string_value(json_object_get(p, "type"));
        const char *h = json_string_value(json_object_get(p, "policy_hash"));
        const json_t *q = cur != NULL ? find_by(cp, "type", type, NULL, NULL) : NULL;
        const char *qh = q != NULL ? json_string_value(json_object_get(q, "policy_hash")) : NULL;
        if (q == NULL) {
            fprintf(f, "+ policy %s/%s %s\n", name, type, h);
            t->added++;
        } else if (strcmp(qh, h) != 0) {
            fprintf(f, "~ policy %s/%s %s -> %s\n", name, type, qh, h);
            t->changed++;
        }
    }
    json_array_foreach(cp, i, p)
    {
        const char *type = json_string_value(json_object_get(p, "type"));
        if (bak == NULL || find_by(bp, "type", type, NULL, NULL) == NULL) {
            fprintf(f, "- policy %s/%s %s\n", name, type,
                    json_string_value(json_object_get(p, "policy_hash")));
            t->removed++;
        }
    }
    diff_signers(f, name, json_object_get(bak, "signer_certs"),
                 json_object_get(cur, "signer_certs"), '+', &t->added);
    diff_signers(f, name, json_object_get(cur, "signer_certs"),
                 json_object_get(bak, "signer_certs"), '-', &t->removed);
}

static void diff_providers(FILE *f, const json_t *cur, const json_t *bak, struct tally *t)
{
    static const char *const fields[] = {"mode",          "alg",         "token_lifetime_s",
                                         "require_token", "signing_key", "signing_cert",
                                         "created_at",    "allowed_networks"};
    const json_t *cps = json_object_get(cur, "providers"), *bps = json_object_get(bak, "providers");
    size_t i;
    const json_t *p;
    json_array_foreach(bps, i, p)
    {
        const char *name = json_string_value(json_object_get(p, "name"));
        const json_t *q = find_by(cps, "name", name, NULL, NULL);
        if (q == NULL) {
            fprintf(f, "+ provider %s\n", name);
            t->added++;
        } else {
            char changed[160] = "";
            for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
                if (!str_member_eq(p, q, fields[k])) {
                    size_t n = strlen(changed);
                    snprintf(changed + n, sizeof(changed) - n, "%s%s", n > 0 ? ", " : "",
                             fields[k]);
                }
            }
            if (changed[0] != '\0') {
                fprintf(f, "~ provider %s (%s)\n", name, changed);
                t->changed++;
            }
        }
        diff_policies(f, name, q, p, t);
    }
    json_array_foreach(cps, i, p)
    {
        const char *name = json_string_value(json_object_get(p, "name"));
        if (find_by(bps, "name", name, NULL, NULL) == NULL) {
            fprintf(f, "- provider %s\n", name);
            t->removed++;
            diff_policies(f, name, p, NULL, t);
        }
    }
}

static void diff_roles(FILE *f, const json_t *cur, const json_t *bak, struct tally *t)
{
    const json_t *cr = json_object_get(cur, "role_assignments");
    const json_t *br = json_object_get(bak, "role_assignments");
    size_t i;
    const json_t *r;
    json_array_foreach(br, i, r)
    {
        const char *pr = json_string_value(json_object_get(r, "principal"));
        const char *sc = json_string_value(json_object_get(r, "scope"));
        const char *ro = json_string_value(json_object_get(r, "role"));
        const json_t *q = find_by(cr, "principal", pr, "scope", sc);
        if (q == NULL) {
            fprintf(f, "+ role %s %s %s\n", pr, ro, sc);
            t->added++;
        } else if (strcmp(ro, json_string_value(json_object_get(q, "role"))) != 0) {
            fprintf(f, "~ role %s %s %s -> %s\n", pr, sc,
                    json_string_value(json_object_get(q, "role")), ro);
            t->changed++;
        }
    }
    json_array_foreach(cr, i, r)
    {
        const char *pr = json_string_value(json_object_get(r, "principal"));
        const char *sc = json_string_value(json_object_get(r, "scope"));
        if (find_by(br, "principal", pr, "scope", sc) == NULL) {
            fprintf(f, "- role %s %s %s\n", pr, json_string_value(json_object_get(r, "role")), sc);
            t->removed++;
        }
    }
}

at_status at_backup_diff(const json_t *current, const json_t *backup, FILE *f, size_t *changes,
                         struct at_err *e)
{
    if (current == NULL || backup == NULL) {
        return nomem(e);
    }
    struct tally t = {0, 0, 0};
    diff_providers(f, current, backup, &t);
    diff_roles(f, current, backup, &t);
    fprintf(f, "summary: %zu added, %zu removed, %zu changed\n", t.added, t.removed, t.changed);
    if (changes != NULL) {
        *changes = t.added + t.removed + t.changed;
    }
    return at_ok();
}
