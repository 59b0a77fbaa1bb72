/*
 * attestctl provider: local management of attestation providers in the store.
 *
 *   attestctl [--data-dir DIR] provider create NAME [--mode aad|isolated]
 *                                      [--alg RS256|PS256|ES256] [--signer-cert PEM]...
 *                                      [--require-token]
 *   attestctl [--data-dir DIR] provider list
 *   attestctl [--data-dir DIR] provider show NAME
 *   attestctl [--data-dir DIR] provider delete NAME
 *
 * Contract (scripts depend on it): list prints a JSON array of names; show (and
 * create, on success) print {"name","mode","alg","kid","created_at","signer_certs",
 * "policies"} with no key material. Exit 0 ok, 1 operation failed (exists, not
 * found, invalid name or certificate), 2 usage or I/O. Messages go to stderr.
 * --require-token: POST /attest/{type} on the provider then needs a bearer token
 * allowed the attest action (Reader or more); GET /admin/providers/NAME shows it.
 */
#include "base/fileio.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "cli/remote.h"
#include "crypto/digest.h"
#include "crypto/x509.h"
#include "service/service.h"
#include "store/store.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CERT_FILE_MAX    ((size_t)256 * 1024)
#define SIGNER_CERTS_MAX 16

static void usage(FILE *f)
{
    fprintf(f, "usage: attestctl [--data-dir DIR] provider create NAME [--mode aad|isolated] "
               "[--alg RS256|PS256|ES256] [--signer-cert PEM]... [--require-token]\n"
               "       attestctl [--data-dir DIR] provider list\n"
               "       attestctl [--data-dir DIR] provider show NAME\n"
               "       attestctl [--data-dir DIR] provider delete NAME\n");
}

static int fail(const struct at_err *e)
{
    fprintf(stderr, "attestctl provider: %s\n", e->msg);
    return at_cli_exit_code(e);
}

static int emit(json_t *j)
{
    char *s = j != NULL ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (s == NULL) {
        fprintf(stderr, "attestctl provider: out of memory\n");
        return 2;
    }
    printf("%s\n", s);
    free(s);
    return 0;
}

/* kid as at_signer_kid defines it: standard base64 of the certificate's SHA-256. */
static json_t *kid_of(const uint8_t *cert, size_t len)
{
    uint8_t h[AT_SHA256_LEN];
    unsigned char b64[48];
    if (at_sha256(cert, len, h) != 0 || EVP_EncodeBlock(b64, h, (int)sizeof(h)) <= 0) {
        return NULL;
    }
    return json_string((const char *)b64);
}

/* The provider's public description; never any key material. */
static int show(struct at_store *st, const char *name)
{
    struct at_err e;
    at_err_init(&e);
    struct at_provider p;
    if (!at_is_ok(at_store_provider_get(st, name, &p, &e))) {
        return fail(&e);
    }
    /* Only metadata leaves this function: drop the key now. */
    json_t *kid = kid_of(p.signing_cert, p.signing_cert_len);
    char created[32];
    at_time_format(p.created_at, created, sizeof(created));
    json_t *o = json_pack("{s:s,s:s,s:s}", "name", p.name, "mode",
                          p.mode == AT_MODE_ISOLATED ? "isolated" : "aad", "alg", p.alg);
    at_provider_clear(&p);
    if (o != NULL && kid != NULL) {
        json_object_set_new(o, "kid", kid);
    } else {
        json_decref(kid);
    }
    json_object_set_new(o, "created_at", json_string(created));

    uint8_t **ders = NULL;
    size_t *lens = NULL, n_certs = 0;
    char **types = NULL;
    size_t n_types = 0;
    if (!at_is_ok(at_store_signer_list(st, name, &ders, &lens, &n_certs, &e)) ||
        !at_is_ok(at_store_policy_list(st, name, &types, &n_types, &e))) {
        at_store_signers_free(ders, lens, n_certs);
        json_decref(o);
        return fail(&e);
    }
    at_store_signers_free(ders, lens, n_certs);
    json_object_set_new(o, "signer_certs", json_integer((json_int_t)n_certs));
    json_t *pol = json_array();
    for (size_t i = 0; i < n_types; i++) {
        json_array_append_new(pol, json_string(types[i]));
    }
    at_store_strings_free(types, n_types);
    json_object_set_new(o, "policies", pol);
    return emit(o);
}

struct certs {
    uint8_t *der[SIGNER_CERTS_MAX];
    size_t len[SIGNER_CERTS_MAX];
    size_t n;
};

static void certs_clear(struct certs *c)
{
    for (size_t i = 0; i < c->n; i++) {
        OPENSSL_free(c->der[i]);
    }
    c->n = 0;
}

/* Append the DER of every certificate in a PEM (or DER) file. */
static int read_certs(const char *path, struct certs *c)
{
    struct at_err e;
    at_err_init(&e);
    uint8_t *buf = NULL;
    size_t len = 0;
    if (!at_is_ok(at_file_read(path, CERT_FILE_MAX, &buf, &len, &e))) {
        fprintf(stderr, "attestctl provider: %s\n", e.msg);
        return 2;
    }
    STACK_OF(X509) *chain = NULL;
    at_status s = at_x509_pem_chain(buf, len, &chain, "signer certificate", &e);
    free(buf);
    if (!at_is_ok(s)) {
        fprintf(stderr, "attestctl provider: %s: %s\n", path, e.msg);
        return 1;
    }
    int rc = 0;
    for (int i = 0; rc == 0 && i < sk_X509_num(chain); i++) {
        if (c->n == SIGNER_CERTS_MAX) {
            fprintf(stderr, "attestctl provider: more than %d signer certificates\n",
                    SIGNER_CERTS_MAX);
            rc = 2;
            break;
        }
        unsigned char *der = NULL;
        int n = i2d_X509(sk_X509_value(chain, i), &der);
        if (n <= 0) {
            fprintf(stderr, "attestctl provider: %s: cannot encode certificate\n", path);
            rc = 1;
            break;
        }
        c->der[c->n] = der;
        c->len[c->n] = (size_t)n;
        c->n++;
    }
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

static int create(struct at_store *st, const char *name, enum at_provider_mode mode,
                  const char *alg, const struct certs *c, bool require_token)
{
    struct at_err e;
    at_err_init(&e);
    if (!at_is_ok(at_service_provider_create(st, name, mode, alg, at_time_now(), &e))) {
        return fail(&e);
    }
    for (size_t i = 0; i <= c->n; i++) {
        at_status s = i < c->n ? at_store_signer_add(st, name, c->der[i], c->len[i], &e)
                      : require_token ? at_store_provider_set_require_token(st, name, true, &e)
                                      : at_ok();
        if (!at_is_ok(s)) {
            /* Do not leave a half-configured provider behind. */
            struct at_err ignored;
            at_err_init(&ignored);
            at_status undo = at_store_provider_delete(st, name, &ignored);
            (void)undo;
            return fail(&e);
        }
    }
    return show(st, name);
}

struct create_opts {
    const char *name;
    const char *alg;
    enum at_provider_mode mode;
    struct certs certs;
    bool require_token;
};

/* One option of `create` at argv[*i] (advancing *i past its value); returns an exit code. */
static int create_opt(int argc, char **argv, int *i, struct create_opts *o)
{
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (strcmp(a, "--mode") == 0 && v != NULL) {
        (*i)++;
        if (strcmp(v, "aad") != 0 && strcmp(v, "isolated") != 0) {
            fprintf(stderr, "attestctl provider: --mode must be aad or isolated\n");
            return 2;
        }
        o->mode = strcmp(v, "aad") == 0 ? AT_MODE_AAD : AT_MODE_ISOLATED;
        return 0;
    }
    if (strcmp(a, "--alg") == 0 && v != NULL) {
        (*i)++;
        if (strcmp(v, "RS256") != 0 && strcmp(v, "PS256") != 0 && strcmp(v, "ES256") != 0) {
            fprintf(stderr, "attestctl provider: --alg must be RS256, PS256 or ES256\n");
            return 2;
        }
        o->alg = v;
        return 0;
    }
    if (strcmp(a, "--require-token") == 0) {
        o->require_token = true;
        return 0;
    }
    if (strcmp(a, "--signer-cert") == 0 && v != NULL) {
        (*i)++;
        return read_certs(v, &o->certs);
    }
    if (a[0] == '-' || o->name != NULL) {
        usage(stderr);
        return 2;
    }
    o->name = a;
    return 0;
}

static int cmd_create(int argc, char **argv)
{
    struct create_opts o = {NULL, "RS256", AT_MODE_AAD, {.n = 0}, false};
    int rc = 0;
    for (int i = 0; rc == 0 && i < argc; i++) {
        rc = create_opt(argc, argv, &i, &o);
    }
    if (rc == 0 && o.name == NULL) {
        usage(stderr);
        rc = 2;
    }
    if (rc == 0 && !at_store_provider_name_valid(o.name)) {
        fprintf(stderr, "attestctl provider: invalid provider name (want [a-z][a-z0-9-]{0,62})\n");
        rc = 1;
    }
    if (rc == 0 && o.mode == AT_MODE_ISOLATED && o.certs.n == 0) {
        fprintf(stderr, "attestctl provider: --mode isolated needs at least one --signer-cert\n");
        rc = 2;
    }
    struct at_store *st = NULL;
    if (rc == 0) {
        rc = at_cli_store_open("provider", &st);
    }
    if (rc == 0) {
        rc = create(st, o.name, o.mode, o.alg, &o.certs, o.require_token);
    }
    at_store_close(st);
    certs_clear(&o.certs);
    return rc;
}

static int cmd_list(int argc, char **argv)
{
    (void)argv;
    if (argc != 0) {
        usage(stderr);
        return 2;
    }
    struct at_store *st = NULL;
    int rc = at_cli_store_open("provider", &st);
    if (rc != 0) {
        return rc;
    }
    struct at_err e;
    at_err_init(&e);
    char **names = NULL;
    size_t n = 0;
    if (!at_is_ok(at_store_provider_list(st, &names, &n, &e))) {
        at_store_close(st);
        return fail(&e);
    }
    at_store_close(st);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, json_string(names[i]));
    }
    at_store_strings_free(names, n);
    return emit(a);
}

/* show NAME / delete NAME */
static int cmd_named(int argc, char **argv, bool del)
{
    if (argc != 1 || argv[0][0] == '-') {
        usage(stderr);
        return 2;
    }
    struct at_store *st = NULL;
    int rc = at_cli_store_open("provider", &st);
    if (rc != 0) {
        return rc;
    }
    if (!del) {
        rc = show(st, argv[0]);
    } else {
        struct at_err e;
        at_err_init(&e);
        if (!at_is_ok(at_store_provider_delete(st, argv[0], &e))) {
            rc = fail(&e);
        }
    }
    at_store_close(st);
    return rc;
}

int at_cli_provider(int argc, char **argv)
{
    if (at_cli_remote_enabled()) {
        return at_cli_provider_remote(argc, argv);
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(sub, "create") == 0) {
        return cmd_create(argc - 2, argv + 2);
    }
    if (strcmp(sub, "list") == 0) {
        return cmd_list(argc - 2, argv + 2);
    }
    if (strcmp(sub, "show") == 0) {
        return cmd_named(argc - 2, argv + 2, false);
    }
    if (strcmp(sub, "delete") == 0) {
        return cmd_named(argc - 2, argv + 2, true);
    }
    fprintf(stderr, "attestctl provider: unknown subcommand '%s'\n", sub);
    usage(stderr);
    return 2;
}
