/*
 * The admin API's per-provider "allowed_networks" (issue 6): taken out of a
 * PUT/PATCH /admin/providers/{name} body before the service sees it, validated as
 * a CIDR list, stored after the call succeeds, and added to provider objects.
 */
#include "server/net.h"
#include "server/routes_int.h"

#include <stdlib.h>
#include <string.h>

void at_admin_net_clear(struct at_admin_net *n)
{
    free(n->cidrs);
    free(n->rest);
    memset(n, 0, sizeof(*n));
}

bool at_admin_net_split(const char *body, size_t len, struct at_admin_net *n,
                        struct at_response *out)
{
    memset(n, 0, sizeof(*n));
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *v = json_is_object(root) ? json_object_get(root, "allowed_networks") : NULL;
    if (v == NULL) {
        json_decref(root); /* not ours: the service reports malformed bodies */
        return true;
    }
    n->present = true;
    if (json_is_string(v) && json_string_length(v) > 0) {
        const char *s = json_string_value(v);
        struct at_cidr_list l;
        struct at_err e;
        at_err_init(&e);
        if (json_string_length(v) > 4096 ||
            !at_is_ok(at_cidr_list_parse(s, json_string_length(v), &l, "allowed_networks", &e))) {
            at_resp_error(out, 400, "InvalidParameter",
                          e.msg[0] != '\0' ? e.msg : "allowed_networks: too long", NULL);
            json_decref(root);
            return false;
        }
        n->cidrs = strdup(s);
    } else if (!json_is_null(v) && !(json_is_string(v) && json_string_length(v) == 0)) {
        at_resp_error(out, 400, "InvalidParameter",
                      "allowed_networks: expected a string \"CIDR[, CIDR...]\" or null", NULL);
        json_decref(root);
        return false;
    }
    json_object_del(root, "allowed_networks");
    n->rest_empty = json_object_size(root) == 0;
    n->rest = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (n->rest == NULL) {
        at_resp_error(out, 500, "InternalError", "out of memory", NULL);
        return false;
    }
    n->rest_len = strlen(n->rest);
    return true;
}

static void decorate_one(struct at_server *srv, json_t *p)
{
    const char *name = json_string_value(json_object_get(p, "name"));
    if (name == NULL) {
        return;
    }
    char *text = NULL;
    struct at_err e;
    at_err_init(&e);
    if (at_is_ok(at_store_provider_networks_get(srv->store, name, &text, &e))) {
        json_object_set_new(p, "allowed_networks", text != NULL ? json_string(text) : json_null());
        free(text);
    }
}

void at_admin_net_decorate(struct at_server *srv, json_t *doc)
{
    json_t *list = json_object_get(doc, "value");
    if (json_is_array(list)) {
        size_t i;
        json_t *p;
        json_array_foreach(list, i, p)
        {
            decorate_one(srv, p);
        }
        return;
    }
    decorate_one(srv, doc);
}
