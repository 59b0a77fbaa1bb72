/*
 * attestctl role: management role assignments (docs/identity.md).
 *
 *   attestctl [--data-dir DIR | --url U] role assign --principal P --role R [--scope S]
 *   attestctl [--data-dir DIR | --url U] role remove --principal P [--scope S]
 *   attestctl [--data-dir DIR | --url U] role list [--principal P] [--scope S]
 *
 * R is Reader, Contributor or Owner; S a provider name or "*" (all; the default for
 * assign and remove). Remote: PUT /admin/roleAssignments {"principal","role","scope"},
 * DELETE /admin/roleAssignments?principal=P&scope=S, GET /admin/roleAssignments[?...];
 * the server's JSON is printed indented. Locally the same JSON shapes come from the
 * store: assign prints the assignment, list {"value":[...]} (as the server), remove nothing.
 * Exit 0 ok, 1 refused (unknown role, bad scope, not found, HTTP error), 2 usage, I/O or
 * connection errors.
 */
#include "cli/cli.h"
#include "cli/remote.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct opts {
    const char *sub, *principal, *role, *scope;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: attestctl [--data-dir DIR | --url URL] role assign --principal P "
               "--role Reader|Contributor|Owner [--scope PROVIDER|*]\n"
               "       attestctl [--data-dir DIR | --url URL] role remove --principal P "
               "[--scope PROVIDER|*]\n"
               "       attestctl [--data-dir DIR | --url URL] role list [--principal P] "
               "[--scope PROVIDER|*]\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc && argv[i + 1][0] != '\0';
        if (strcmp(a, "--principal") == 0 && has) {
            o->principal = argv[++i];
        } else if (strcmp(a, "--role") == 0 && has) {
            o->role = argv[++i];
        } else if (strcmp(a, "--scope") == 0 && has) {
            o->scope = argv[++i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    bool assign = strcmp(o->sub, "assign") == 0, list = strcmp(o->sub, "list") == 0;
    if ((!list && o->principal == NULL) || (assign != (o->role != NULL))) {
        usage(stderr);
        return 2;
    }
    if (!list && o->scope == NULL) {
        o->scope = "*";
    }
    return 0;
}

static json_t *assignment(const char *principal, const char *role, const char *scope)
{
    return json_pack("{s:s,s:s,s:s}", "principal", principal, "role", role, "scope", scope);
}

/* ---- local ---- */

static int local_fail(const struct at_err *e)
{
    fprintf(stderr, "attestctl role: %s\n", e->msg);
    return at_cli_exit_code(e);
}

static int local_list(struct at_store *st, const struct opts *o)
{
    struct at_err e;
    at_err_init(&e);
    struct at_role_assignment *v = NULL;
    size_t n = 0;
    if (!at_is_ok(at_store_role_list(st, o->principal, &v, &n, &e))) {
        return local_fail(&e);
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        if (o->scope == NULL || strcmp(o->scope, v[i].scope) == 0) {
            json_array_append_new(arr, assignment(v[i].principal, v[i].role, v[i].scope));
        }
    }
    free(v);
    return at_remote_emit("role", json_pack("{s:o}", "value", arr));
}

static int run_local(const struct opts *o)
{
    struct at_store *st = NULL;
    int rc = at_cli_store_open("role", &st);
    if (rc != 0) {
        return rc;
    }
    struct at_err e;
    at_err_init(&e);
    if (strcmp(o->sub, "list") == 0) {
        rc = local_list(st, o);
    } else if (strcmp(o->sub, "assign") == 0) {
        if (!at_is_ok(at_store_role_assign(st, o->principal, o->role, o->scope, &e))) {
            rc = local_fail(&e);
        } else {
            /* Print the stored (canonical) spelling of the role. */
            struct at_role_assignment *v = NULL;
            size_t n = 0;
            const char *role = o->role;
            if (at_is_ok(at_store_role_list(st, o->principal, &v, &n, &e))) {
                for (size_t i = 0; i < n; i++) {
                    if (strcmp(v[i].scope, o->scope) == 0) {
                        role = v[i].role;
                    }
                }
            }
            rc = at_remote_emit("role", assignment(o->principal, role, o->scope));
            free(v);
        }
    } else if (!at_is_ok(at_store_role_remove(st, o->principal, o->scope, &e))) {
        rc = local_fail(&e);
    }
    at_store_close(st);
    return rc;
}

/* ---- remote ---- */

/* "?principal=P&scope=S" with the parts that are set; heap. */
static char *query(const struct opts *o)
{
    char *p = o->principal != NULL ? at_remote_escape(o->principal) : NULL;
    char *s = o->scope != NULL ? at_remote_escape(o->scope) : NULL;
    size_t need = 64 + (p != NULL ? strlen(p) : 0) + (s != NULL ? strlen(s) : 0);
    char *q = ((o->principal == NULL) == (p == NULL) && (o->scope == NULL) == (s == NULL))
                  ? malloc(need)
                  : NULL;
    if (q != NULL) {
        snprintf(q, need, "/admin/roleAssignments%s%s%s%s%s", p != NULL || s != NULL ? "?" : "",
                 p != NULL ? "principal=" : "", p != NULL ? p : "",
                 p != NULL && s != NULL ? "&scope=" : s != NULL ? "scope=" : "",
                 s != NULL ? s : "");
    }
    free(p);
    free(s);
    return q;
}

static int run_remote(const struct opts *o)
{
    struct at_remote r;
    int rc = at_remote_open(&r, "role");
    json_t *out = NULL;
    if (rc == 0 && strcmp(o->sub, "assign") == 0) {
        json_t *b = assignment(o->principal, o->role, o->scope);
        char *txt = b != NULL ? json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(b);
        rc = txt != NULL ? at_remote_call(&r, "PUT", "/admin/roleAssignments", "application/json",
                                          txt, strlen(txt), &out)
                         : 2;
        free(txt);
    } else if (rc == 0) {
        char *path = query(o);
        rc = path != NULL ? at_remote_call(&r, strcmp(o->sub, "list") == 0 ? "GET" : "DELETE",
                                           path, NULL, NULL, 0, &out)
                          : 2;
        free(path);
    }
    at_remote_close(&r);
    if (rc == 0 && out != NULL) {
        return at_remote_emit("role", out);
    }
    json_decref(out);
    return rc;
}

int at_cli_role(int argc, char **argv)
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
    if (strcmp(sub, "assign") != 0 && strcmp(sub, "remove") != 0 && strcmp(sub, "list") != 0) {
        fprintf(stderr, "attestctl role: unknown subcommand '%s'\n", sub);
        usage(stderr);
        return 2;
    }
    struct opts o = {sub, NULL, NULL, NULL};
    int rc = parse(argc - 2, argv + 2, &o);
    if (rc != 0) {
        return rc;
    }
    return at_cli_remote_enabled() ? run_remote(&o) : run_local(&o);
}
