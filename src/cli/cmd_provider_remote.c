/*
 * attestctl provider, remote: the same subcommands against a server's management API
 * (docs/management-api.md) when --url (or $ATTESTD_URL) is set.
 *
 *   attestctl --url U provider create NAME [--mode aad|isolated] [--alg RS256|PS256|ES256]
 *                                     [--signer-cert PEM]... [--require-token]
 *     -> PUT /admin/providers/NAME {"mode","alg"?,"signer_certificates","require_token_for_attestation"?}
 *   attestctl --url U provider list        -> GET /admin/providers
 *   attestctl --url U provider show NAME   -> GET /admin/providers/NAME
 *   attestctl --url U provider delete NAME -> DELETE /admin/providers/NAME
 *
 * Output: the server's JSON, indented. Exit 0 ok, 1 the server refused (its error code
 * and message on stderr), 2 usage, I/O or connection errors.
 */
#include "cli/cli.h"
#include "cli/remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIGNER_CERTS_MAX 16

static void usage(FILE *f)
{
    fprintf(f, "usage: attestctl --url URL provider create NAME [--mode aad|isolated] "
               "[--alg RS256|PS256|ES256] [--signer-cert PEM]... [--require-token]\n"
               "       attestctl --url URL provider list\n"
               "       attestctl --url URL provider show|delete NAME\n");
}

/* Names are [a-z][a-z0-9-]{0,62}; checked here so they are safe in a URL path. */
static bool name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > 63 || n[0] < 'a' || n[0] > 'z') {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || n[i] == '-')) {
            return false;
        }
    }
    return true;
}

static int parse_create(int argc, char **argv, json_t *body, const char **name)
{
    json_t *certs = json_object_get(body, "signer_certificates");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (strcmp(a, "--mode") == 0 && v != NULL) {
            i++;
            if (strcmp(v, "aad") != 0 && strcmp(v, "isolated") != 0) {
                fprintf(stderr, "attestctl provider: --mode must be aad or isolated\n");
                return 2;
            }
            json_object_set_new(body, "mode", json_string(v));
        } else if (strcmp(a, "--alg") == 0 && v != NULL) {
            i++;
            if (strcmp(v, "RS256") != 0 && strcmp(v, "PS256") != 0 && strcmp(v, "ES256") != 0) {
                fprintf(stderr, "attestctl provider: --alg must be RS256, PS256 or ES256\n");
                return 2;
            }
            json_object_set_new(body, "alg", json_string(v));
        } else if (strcmp(a, "--signer-cert") == 0 && v != NULL) {
            i++;
            rc = at_remote_certs_x5c("provider", v, certs, SIGNER_CERTS_MAX, NULL);
        } else if (strcmp(a, "--require-token") == 0) {
            json_object_set_new(body, "require_token_for_attestation", json_true());
        } else if (a[0] == '-' || *name != NULL) {
            usage(stderr);
            return 2;
        } else {
            *name = a;
        }
        if (rc != 0) {
            return rc;
        }
    }
    if (*name == NULL) {
        usage(stderr);
        return 2;
    }
    return 0;
}

static int cmd_create(struct at_remote *r, int argc, char **argv)
{
    json_t *body = json_pack("{s:s,s:[]}", "mode", "aad", "signer_certificates");
    const char *name = NULL;
    int rc = body != NULL ? parse_create(argc, argv, body, &name) : 2;
    if (rc == 0 && !name_ok(name)) {
        fprintf(stderr, "attestctl provider: invalid provider name (want [a-z][a-z0-9-]{0,62})\n");
        rc = 1;
    }
    char *txt = rc == 0 ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(body);
    if (rc == 0 && txt == NULL) {
        rc = 2;
    }
    if (rc == 0) {
        char path[128];
        snprintf(path, sizeof(path), "/admin/providers/%s", name);
        json_t *out = NULL;
        rc = at_remote_call(r, "PUT", path, "application/json", txt, strlen(txt), &out);
        if (rc == 0) {
            rc = at_remote_emit("provider", out);
        }
    }
    free(txt);
    return rc;
}

static int cmd_named(struct at_remote *r, int argc, char **argv, const char *method)
{
    if (argc != 1 || argv[0][0] == '-') {
        usage(stderr);
        return 2;
    }
    if (!name_ok(argv[0])) {
        fprintf(stderr, "attestctl provider: invalid provider name (want [a-z][a-z0-9-]{0,62})\n");
        return 1;
    }
    char path[128];
    snprintf(path, sizeof(path), "/admin/providers/%s", argv[0]);
    json_t *out = NULL;
    int rc = at_remote_call(r, method, path, NULL, NULL, 0, &out);
    if (rc == 0 && out != NULL) {
        rc = at_remote_emit("provider", out);
    }
    return rc;
}

int at_cli_provider_remote(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    bool known = strcmp(sub, "create") == 0 || strcmp(sub, "list") == 0 ||
                 strcmp(sub, "show") == 0 || strcmp(sub, "delete") == 0;
    if (!known) {
        fprintf(stderr, "attestctl provider: unknown subcommand '%s'\n", sub);
        usage(stderr);
        return 2;
    }
    if (strcmp(sub, "list") == 0 && argc != 2) {
        usage(stderr);
        return 2;
    }
    struct at_remote r;
    int rc = at_remote_open(&r, "provider");
    if (rc == 0) {
        if (strcmp(sub, "create") == 0) {
            rc = cmd_create(&r, argc - 2, argv + 2);
        } else if (strcmp(sub, "list") == 0) {
            json_t *out = NULL;
            rc = at_remote_call(&r, "GET", "/admin/providers", NULL, NULL, 0, &out);
            rc = rc == 0 ? at_remote_emit("provider", out) : rc;
        } else {
            rc = cmd_named(&r, argc - 2, argv + 2, strcmp(sub, "show") == 0 ? "GET" : "DELETE");
        }
    }
    at_remote_close(&r);
    return rc;
}
