/*
 * attestctl [--data-dir DIR] policy export --provider NAME [--out DIR]
 *
 * Writes every stored policy of the provider in MAA form, so any MAA client can upload
 * it again (PUT /policies/{type}): DIR/<Type>.txt holds the policy text byte-exact and
 * DIR/<Type>.jws the JWS it was uploaded in, when it was uploaded as one (uploading that
 * JWS again gives the same x-ms-policy-token-hash). DIR (default ".") is created 0700
 * if missing; files are written 0600, existing ones replaced. Prints one path per line.
 * Exit: 0 ok, 1 no such provider, 2 usage, I/O or the store cannot be opened.
 * Local store only: with --url it exits 2 (use `policy get` per type remotely).
 */
#include "cli/cli.h"
#include "cli/remote.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int write_file(const char *dir, const char *type, const char *ext, const char *p,
                      size_t n)
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

int at_cli_policy_export(int argc, char **argv)
{
    const char *provider = NULL, *out = ".";
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--provider") == 0 && i + 1 < argc) {
            provider = argv[++i];
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else {
            fprintf(stderr, "attestctl policy export: unexpected argument '%s'\n"
                            "usage: attestctl policy export --provider NAME [--out DIR]\n",
                    argv[i]);
            return 2;
        }
    }
    if (provider == NULL) {
        fprintf(stderr, "attestctl policy export: missing --provider NAME\n");
        return 2;
    }
    if (at_cli_remote_enabled()) {
        fprintf(stderr, "attestctl policy export: works on the local store only "
                        "(remotely: attestctl --url U policy get per type)\n");
        return 2;
    }
    if (mkdir(out, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "attestctl policy export: cannot create %s: %s\n", out, strerror(errno));
        return 2;
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
