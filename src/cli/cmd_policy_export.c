/*
 * attestctl [--data-dir DIR] policy export --provider NAME [--out DIR]
 *
 * Writes every stored policy of the provider in MAA form, so any MAA client can upload
 * it again (PUT /policies/{type}): DIR/<Type>.txt holds the policy text byte-exact and
 * DIR/<Type>.jws the JWS it was uploaded in, when it was uploaded as one (uploading that
 * JWS again gives the same x-ms-policy-token-hash). DIR (default ".") is created 0700
 * if missing; files are written 0600, existing ones replaced. Prints one path per line.
 * Exit: 0 ok, 1 no such provider, 2 usage, I/O or the store cannot be opened.
 *
 * With --url (remote.h) it asks a running attestd instead: GET
 * /providers/NAME/policies/<Type> for each attestation type, every answer's token checked
 * against the provider's /certs. The server cannot say whether a type holds a stored
 * policy or the default, so every type with a non-empty policy is written: <Type>.jws is
 * the x-ms-policy JWS the server returns (a policy uploaded as bare text comes back as the
 * unsigned JWS wrapping it) and <Type>.txt the text inside it. Exit 1 when the server
 * refuses or an answer does not verify.
 */
#include "base/encoding.h"
#include "cli/cli.h"
#include "cli/remote.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_file(const char *dir, const char *type, const char *ext, const char *p, size_t n)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s.%s", dir, type, ext);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (fd >= 0 && f == NULL) {
        close(fd);
    }
    bool ok = f != NULL && fwrite(p, 1, n, f) == n;
    if (f != NULL && fclose(f) != 0) {
        ok = false;
    }
    if (!ok) {
        fprintf(stderr, "attestctl policy export: cannot write %s: %s\n", path, strerror(errno));
        return 2;
    }
    printf("%s\n", path);
    return 0;
}

/* The policy text inside an x-ms-policy JWS (heap); NULL when it has none. */
static uint8_t *jws_text(const char *jws, size_t *len)
{
    const char *d1 = jws != NULL ? strchr(jws, '.') : NULL;
    const char *d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
    struct at_err e;
    at_err_init(&e);
    uint8_t *pl = NULL, *text = NULL;
    size_t pl_len = 0;
    *len = 0;
    if (d2 == NULL || d2 == d1 + 1 ||
        !at_is_ok(at_b64_decode_public(d1 + 1, (size_t)(d2 - d1 - 1), &pl, &pl_len, &e))) {
        return NULL;
    }
    json_t *payload = json_loadb((const char *)pl, pl_len, JSON_REJECT_DUPLICATES, NULL);
    const char *b = json_string_value(json_object_get(payload, "AttestationPolicy"));
    if (b == NULL || !at_is_ok(at_b64_decode_public(b, strlen(b), &text, len, &e)) || *len == 0) {
        free(text);
        text = NULL;
    }
    json_decref(payload);
    free(pl);
    return text;
}

static int export_remote(const char *provider, const char *out)
{
    static const char *const types[] = {"SgxEnclave", "OpenEnclave", "TdxVm", "SevSnpVm", "Tpm"};
    struct at_remote r;
    int rc = at_remote_open(&r, "policy export");
    for (size_t i = 0; rc == 0 && i < sizeof(types) / sizeof(types[0]); i++) {
        char path[256];
        snprintf(path, sizeof(path), "/providers/%s/policies/%s?" AT_REMOTE_API, provider,
                 types[i]);
        json_t *resp = NULL, *claims = NULL;
        rc = at_remote_call(&r, "GET", path, NULL, NULL, 0, &resp);
        if (rc == 0) {
            rc = at_remote_result(&r, provider, resp, &claims);
        }
        const char *jws = json_string_value(json_object_get(claims, "x-ms-policy"));
        size_t len = 0;
        uint8_t *text = rc == 0 ? jws_text(jws, &len) : NULL;
        if (text != NULL) {
            rc = write_file(out, types[i], "txt", (const char *)text, len);
            if (rc == 0) {
                rc = write_file(out, types[i], "jws", jws, strlen(jws));
            }
        }
        free(text);
        json_decref(resp);
        json_decref(claims);
    }
    at_remote_close(&r);
    return rc;
}

int at_cli_policy_export(int argc, char **argv)
{
    const char *provider = NULL, *out = ".";
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--provider") == 0 && i + 1 < argc) {
            provider = argv[++i];
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else {
            fprintf(stderr,
                    "attestctl policy export: unexpected argument '%s'\n"
                    "usage: attestctl policy export --provider NAME [--out DIR]\n",
                    argv[i]);
            return 2;
        }
    }
    if (provider == NULL) {
        fprintf(stderr, "attestctl policy export: missing --provider NAME\n");
        return 2;
    }
    if (mkdir(out, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "attestctl policy export: cannot create %s: %s\n", out, strerror(errno));
        return 2;
    }
    if (at_cli_remote_enabled()) {
        return export_remote(provider, out);
    }
    struct at_store *st = NULL;
    int rc = at_cli_store_open("policy export", &st);
    if (rc != 0) {
        return rc;
    }
    struct at_err e;
    at_err_init(&e);
    char **types = NULL;
    size_t n = 0;
    if (!at_is_ok(at_store_policy_list(st, provider, &types, &n, &e))) {
        fprintf(stderr, "attestctl policy export: %s\n", e.msg);
        rc = at_cli_exit_code(&e);
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct at_policy_record r;
        memset(&r, 0, sizeof(r));
        if (!at_is_ok(at_store_policy_get(st, provider, types[i], &r, &e))) {
            fprintf(stderr, "attestctl policy export: %s\n", e.msg);
            rc = at_cli_exit_code(&e);
        } else {
            rc = write_file(out, types[i], "txt", r.text, r.text_len);
            if (rc == 0 && r.jws != NULL) {
                rc = write_file(out, types[i], "jws", r.jws, strlen(r.jws));
            }
        }
        at_policy_record_clear(&r);
    }
    at_store_strings_free(types, n);
    at_store_close(st);
    return rc;
}
