/*
 * attestctl policy: check and evaluate MAA attestation policies.
 *
 *   attestctl policy check FILE [--strict]
 *   attestctl policy eval --policy FILE --claims CLAIMS.json [--explain] [--strict]
 *
 * Contract (scripts depend on it): check exits 0 for a valid policy and 1
 * otherwise, errors as FILE:line:column on stderr. eval prints one JSON
 * object {"result","issued","properties","explain","error"?} and exits 0 on
 * permit, 1 otherwise. Usage and I/O errors exit 2.
 */
#include "base/fileio.h"
#include "base/limits.h"
#include "cli/cli.h"
#include "policy/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: attestctl policy check FILE [--strict]\n"
               "       attestctl policy eval --policy FILE --claims CLAIMS.json [--explain] "
               "[--strict]\n");
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
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "attestctl policy: unknown subcommand '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
