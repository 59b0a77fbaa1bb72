/*
 * attestctl policy: check and evaluate MAA attestation policies.
 *
 *   attestctl policy check FILE [--strict]
 *   attestctl policy eval --policy FILE --claims CLAIMS.json [--explain] [--strict]
 *   attestctl [--data-dir DIR] policy set|get|reset --provider NAME
 *             --type SgxEnclave|OpenEnclave|TdxVm [FILE]
 *
 * Contract (scripts depend on it): check exits 0 for a valid policy and 1
 * otherwise, errors as FILE:line:column on stderr. eval prints one JSON
 * object {"result","issued","properties","explain","error"?} and exits 0 on
 * permit, 1 otherwise. Usage and I/O errors exit 2.
 *
 * set reads FILE (or stdin), compiles it (lenient) and stores the exact bytes;
 * get prints the stored bytes exactly, or the type's default policy when none is
 * stored; reset deletes the stored one. The type is matched case-insensitively
 * and stored in its canonical spelling. Exit 1 when the provider does not exist
 * or the policy does not compile.
 */
#include "base/fileio.h"
#include "base/limits.h"
#include "cli/cli.h"
#include "cli/remote.h"
#include "policy/policy.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: attestctl policy check FILE [--strict]\n"
               "       attestctl policy eval --policy FILE --claims CLAIMS.json [--explain] "
               "[--strict]\n"
               "       attestctl [--data-dir DIR] policy set|get|reset --provider NAME "
               "--type SgxEnclave|OpenEnclave|TdxVm [FILE]\n"
               "       attestctl policy sign --key KEY.pem --cert CERT.pem [FILE]\n"
               "       attestctl --url URL policy get|set|reset --provider NAME --type TYPE "
               "[FILE] [--sign-key KEY.pem --sign-cert CERT.pem]\n"
               "       attestctl [--data-dir DIR] policy export --provider NAME [--out DIR]\n");
}

static void print_diag(const char *file, const char *kind, const struct at_policy_diag *d)
{
    fprintf(stderr, "%s:%u:%u: %s: %s\n", file, d->line, d->col, kind, d->msg);
}

/* Read the policy file; over-size files are read one byte past the cap so compile reports it. */
static int read_policy(const char *path, uint8_t **buf, size_t *len)
{
    struct at_err e;
    at_err_init(&e);
    if (!at_is_ok(at_file_read(path, AT_LIMIT_POLICY_BYTES + 1, buf, len, &e))) {
        fprintf(stderr, "attestctl policy: %s\n", e.msg);
        return e.code == AT_E_LIMIT ? 1 : 2;
    }
    return 0;
}

static int cmd_check(int argc, char **argv)
{
    const char *file = NULL;
    bool strict = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--strict") == 0) {
            strict = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' || file != NULL) {
            usage(stderr);
            return 2;
        } else {
            file = argv[i];
        }
    }
    if (file == NULL) {
        usage(stderr);
        return 2;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = read_policy(file, &buf, &len);
    if (rc != 0) {
        return rc;
    }
    struct at_policy *p = NULL;
    struct at_policy_diag d;
    struct at_err e;
    at_err_init(&e);
    at_status s = at_policy_compile((const char *)buf, len,
                                    strict ? AT_POLICY_STRICT : AT_POLICY_LENIENT, &p, &d, &e);
    free(buf);
    if (!at_is_ok(s)) {
        if (d.line == 0) {
            fprintf(stderr, "%s: error: %s\n", file, e.msg);
        } else {
            print_diag(file, "error", &d);
        }
        return 1;
    }
    for (size_t i = 0; i < at_policy_warning_count(p); i++) {
        print_diag(file, "warning", at_policy_warning(p, i));
    }
    printf("%s: ok (version 1.%u, %zu warning%s)\n", file, at_policy_version(p) - 10,
           at_policy_warning_count(p), at_policy_warning_count(p) == 1 ? "" : "s");
    at_policy_free(p);
    return 0;
}

static json_t *props_object(const struct at_claims *props)
{
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < props->count; i++) {
        json_object_set_new(o, props->items[i].type, at_claim_value_json(&props->items[i]));
    }
    return o;
}

static int emit(json_t *out)
{
    char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(out);
    if (s == NULL) {
        fprintf(stderr, "attestctl policy: out of memory\n");
        return 2;
    }
    printf("%s\n", s);
    free(s);
    return 0;
}

static int cmd_eval(int argc, char **argv)
{
    const char *pfile = NULL, *cfile = NULL;
    bool strict = false, explain = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--strict") == 0) {
            strict = true;
        } else if (strcmp(argv[i], "--explain") == 0) {
            explain = true;
        } else if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc) {
            pfile = argv[++i];
        } else if (strcmp(argv[i], "--claims") == 0 && i + 1 < argc) {
            cfile = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (pfile == NULL || cfile == NULL) {
        usage(stderr);
        return 2;
    }
    uint8_t *pbuf = NULL;
    size_t plen = 0;
    int rc = read_policy(pfile, &pbuf, &plen);
    if (rc != 0) {
        return 2;
    }
    json_error_t je;
    json_t *cj = json_load_file(cfile, JSON_REJECT_DUPLICATES, &je);
    if (cj == NULL) {
        fprintf(stderr, "attestctl policy: %s:%d:%d: %s\n", cfile, je.line, je.column, je.text);
        free(pbuf);
        return 2;
    }
    struct at_err e;
    at_err_init(&e);
    struct at_claims claims;
    at_claims_init(&claims);
    if (!at_is_ok(at_claims_from_json(&claims, cj, &e))) {
        fprintf(stderr, "attestctl policy: %s: %s\n", cfile, e.msg);
        json_decref(cj);
        at_claims_clear(&claims);
        free(pbuf);
        return 2;
    }
    json_decref(cj);

    json_t *out = json_object();
    struct at_policy *p = NULL;
    struct at_policy_diag d;
    at_status s = at_policy_compile((const char *)pbuf, plen,
                                    strict ? AT_POLICY_STRICT : AT_POLICY_LENIENT, &p, &d, &e);
    free(pbuf);
    if (!at_is_ok(s)) {
        json_object_set_new(out, "result", json_string("error"));
        json_object_set_new(out, "issued", json_object());
        json_object_set_new(out, "properties", json_object());
        json_object_set_new(out, "explain", json_array());
        json_object_set_new(out, "error",
                            json_pack("{s:s,s:s,s:i,s:i,s:s}", "code", "PolicyParsingError",
                                      "message", d.line != 0 ? d.msg : e.msg, "line",
                                      (json_int_t)d.line, "column", (json_int_t)d.col,
                                      "expected", d.expected));
        at_claims_clear(&claims);
        return emit(out) != 0 ? 2 : 1;
    }
    struct at_policy_result r;
    at_policy_result_init(&r);
    struct at_policy_eval_opts opts = {explain, 0};
    at_err_init(&e);
    s = at_policy_eval(p, &claims, &opts, &r, &e);
    json_object_set_new(out, "result", json_string(at_policy_verdict_name(r.verdict)));
    json_t *issued = at_policy_claims_object(&r.issued);
    json_object_set_new(out, "issued", issued != NULL ? issued : json_object());
    json_object_set_new(out, "properties", props_object(&r.properties));
    json_object_set_new(out, "explain", r.explain != NULL ? json_incref(r.explain) : json_array());
    if (r.verdict != AT_POLICY_PERMIT) {
        json_object_set_new(out, "error",
                            r.detail != NULL ? json_incref(r.detail)
                                             : json_pack("{s:s}", "message", r.err.msg));
    }
    json_t *warnings = json_array();
    for (size_t i = 0; warnings != NULL && i < at_policy_warning_count(p); i++) {
        const struct at_policy_diag *w = at_policy_warning(p, i);
        json_array_append_new(warnings, json_pack("{s:i,s:i,s:s}", "line", (json_int_t)w->line,
                                                  "column", (json_int_t)w->col, "message",
                                                  w->msg));
    }
    if (warnings != NULL && json_array_size(warnings) > 0) {
        json_object_set_new(out, "warnings", warnings);
    } else {
        json_decref(warnings);
    }
    json_object_set_new(out, "policy_hash", json_string(at_policy_hash_str(p)));
    at_policy_result_clear(&r);
    at_policy_free(p);
    at_claims_clear(&claims);
    if (emit(out) != 0) {
        return 2;
    }
    return at_is_ok(s) ? 0 : 1;
}

/* ---- policy set|get|reset: policies stored per provider and attestation type ---- */

/* The attestation types whose policies attestctl manages, in canonical spelling. */
static const char *const stored_types[] = {"SgxEnclave", "OpenEnclave", "TdxVm"};

static const char *canonical_type(const char *s)
{
    for (size_t i = 0; i < sizeof(stored_types) / sizeof(stored_types[0]); i++) {
        if (strcasecmp(s, stored_types[i]) == 0) {
            return stored_types[i];
        }
    }
    return NULL;
}

/* Read all of stdin (at most max bytes, one more so compile reports an over-size policy). */
static int read_stdin(size_t max, uint8_t **out, size_t *len)
{
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap + 1);
    while (buf != NULL) {
        if (n == cap) {
            if (cap > max) {
                break;
            }
            uint8_t *nb = realloc(buf, 2 * cap + 1);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, stdin);
        n += got;
        if (got == 0) {
            break;
        }
    }
    if (buf == NULL) {
        fprintf(stderr, "attestctl policy: out of memory\n");
        return 2;
    }
    if (ferror(stdin)) {
        fprintf(stderr, "attestctl policy: cannot read standard input\n");
        free(buf);
        return 2;
    }
    buf[n] = 0;
    *out = buf;
    *len = n > max + 1 ? max + 1 : n;
    return 0;
}

static int stored_set(struct at_store *st, const char *provider, const char *type, const char *file)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = file != NULL ? read_policy(file, &buf, &len)
                          : read_stdin(AT_LIMIT_POLICY_BYTES, &buf, &len);
    if (rc != 0) {
        return rc;
    }
    const char *name = file != NULL ? file : "<stdin>";
    struct at_policy *p = NULL;
    struct at_policy_diag d;
    struct at_err e;
    at_err_init(&e);
    if (!at_is_ok(at_policy_compile((const char *)buf, len, AT_POLICY_LENIENT, &p, &d, &e))) {
        if (d.line == 0) {
            fprintf(stderr, "%s: error: %s\n", name, e.msg);
        } else {
            print_diag(name, "error", &d);
        }
        free(buf);
        return 1;
    }
    for (size_t i = 0; i < at_policy_warning_count(p); i++) {
        print_diag(name, "warning", at_policy_warning(p, i));
    }
    if (!at_is_ok(at_store_policy_set(st, provider, type, (const char *)buf, len, NULL, &e))) {
        fprintf(stderr, "attestctl policy: %s\n", e.msg);
        rc = at_cli_exit_code(&e);
    } else {
        fprintf(stderr, "attestctl policy: stored the %s policy of provider '%s' (%s)\n", type,
                provider, at_policy_hash_str(p));
    }
    at_policy_free(p);
    free(buf);
    return rc;
}

static int stored_get(struct at_store *st, const char *provider, const char *type)
{
    struct at_err e;
    at_err_init(&e);
    struct at_provider prov;
    if (!at_is_ok(at_store_provider_get(st, provider, &prov, &e))) {
        fprintf(stderr, "attestctl policy: %s\n", e.msg);
        return at_cli_exit_code(&e);
    }
    at_provider_clear(&prov);
    struct at_policy_record r;
    at_status s = at_store_policy_get(st, provider, type, &r, &e);
    if (at_is_ok(s)) {
        size_t want = r.text_len;
        size_t w = want > 0 ? fwrite(r.text, 1, want, stdout) : 0;
        at_policy_record_clear(&r);
        return w == want && fflush(stdout) == 0 ? 0 : 2;
    }
    if (e.code != AT_E_NOT_FOUND) {
        fprintf(stderr, "attestctl policy: %s\n", e.msg);
        return at_cli_exit_code(&e);
    }
    const char *def = at_policy_default_text(type);
    if (def == NULL) {
        fprintf(stderr, "attestctl policy: no %s policy stored and no default\n", type);
        return 1;
    }
    return fputs(def, stdout) >= 0 ? 0 : 2;
}

static int cmd_stored(const char *sub, int argc, char **argv)
{
    const char *provider = NULL, *type = NULL, *file = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--provider") == 0 && i + 1 < argc) {
            provider = argv[++i];
        } else if (strcmp(argv[i], "--type") == 0 && i + 1 < argc) {
            type = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' || file != NULL || strcmp(sub, "set") != 0) {
            usage(stderr);
            return 2;
        } else {
            file = argv[i];
        }
    }
    if (provider == NULL || type == NULL) {
        usage(stderr);
        return 2;
    }
    const char *canon = canonical_type(type);
    if (canon == NULL) {
        fprintf(stderr,
                "attestctl policy: unknown attestation type '%s' "
                "(want SgxEnclave, OpenEnclave or TdxVm)\n",
                type);
        return 2;
    }
    struct at_store *st = NULL;
    int rc = at_cli_store_open("policy", &st);
    if (rc != 0) {
        return rc;
    }
    if (strcmp(sub, "set") == 0) {
        rc = stored_set(st, provider, canon, file);
    } else if (strcmp(sub, "get") == 0) {
        rc = stored_get(st, provider, canon);
    } else {
        struct at_err e;
        at_err_init(&e);
        if (!at_is_ok(at_store_policy_reset(st, provider, canon, &e))) {
            fprintf(stderr, "attestctl policy: %s\n", e.msg);
            rc = at_cli_exit_code(&e);
        }
    }
    at_store_close(st);
    return rc;
}

int at_cli_policy(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "check") == 0) {
        return cmd_check(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "eval") == 0) {
        return cmd_eval(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "sign") == 0) {
        return at_cli_policy_sign(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "export") == 0) {
        return at_cli_policy_export(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "set") == 0 || strcmp(argv[1], "get") == 0 ||
        strcmp(argv[1], "reset") == 0) {
        if (at_cli_remote_enabled()) {
            return at_cli_policy_remote(argc, argv);
        }
        return cmd_stored(argv[1], argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "attestctl policy: unknown subcommand '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
