/*
 * The route table (maa-api.md §2) and its handlers. Each handler turns HTTP
 * (path, query, Host, JSON body) into a service request and the result into a
 * response; everything else lives in src/service.
 *
 *   GET  [/providers/{name}]/certs                              K1
 *   GET  [/providers/{name}]/.well-known/openid-configuration   K2
 *   POST [/providers/{name}]/attest/{type}?api-version=V        A1 A2 A4 A5
 *
 * Management plane (bearer token + RBAC, maa-api.md §2.5, §2.6, §6):
 *   GET  [/providers/{name}]/policies/{type}?api-version=V       P1
 *   PUT  [/providers/{name}]/policies/{type}?api-version=V       P2
 *   POST [/providers/{name}]/policies/{type}:reset?api-version=V P3
 *   GET  [/providers/{name}]/certificates?api-version=V          C1
 *   POST [/providers/{name}]/certificates:add?api-version=V      C2
 *   POST [/providers/{name}]/certificates:remove?api-version=V   C3
 * /tcbbaselines answers 404 (not served yet).
 *
 * Admin JSON API (bearer token + RBAC, no api-version; docs/management-api.md):
 *   GET    /admin/providers                 GET    /admin/roleAssignments[?principal=&scope=]
 *   GET    /admin/providers/{name}          PUT    /admin/roleAssignments
 *   PUT    /admin/providers/{name}          DELETE /admin/roleAssignments?principal=&scope=
 *   PATCH  /admin/providers/{name}
 *   DELETE /admin/providers/{name}
 * A provider with require_token_for_attestation answers POST .../attest/{type} only with
 * a bearer token allowed the attest action (Reader); /certs and OpenID stay anonymous.
 */
#include "auth/auth.h"
#include "base/limits.h"
#include "base/timeutil.h"
#include "monitor/audit.h"
#include "server/http.h"
#include "server/net.h"
#include "server/routes_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- matching ---- */

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static bool provider_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
}

/* A provider name as the store accepts it: [a-z0-9-], starting with a letter. */
bool at_routes_provider_name_ok(const char *s, size_t len)
{
    if (len == 0 || len > AT_PROVIDER_NAME_MAX || s[0] < 'a' || s[0] > 'z') {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!provider_char(s[i])) {
            return false;
        }
    }
    return true;
}

static bool method_not_allowed(const char *method, const char *allow, struct at_response *err)
{
    if (strcmp(method, allow) == 0) {
        return false;
    }
    at_resp_error(err, 405, "MethodNotAllowed", "method not allowed on this path", NULL);
    err->allow = allow;
    return true;
}

/* /admin/providers/{name}: GET, PUT, PATCH, DELETE (the name is checked after auth). */
static bool admin_provider_match(const char *name, const char *method, struct at_route *rt,
                                 struct at_response *err)
{
    size_t len = strlen(name);
    if (len == 0 || strchr(name, '/') != NULL) {
        at_resp_error(err, 404, "NotFound", "no such path", NULL);
        return false;
    }
    rt->arg = name;
    rt->arg_len = len;
    static const struct {
        const char *method;
        enum at_route_id id;
    } ids[] = {{"GET", AT_ROUTE_ADMIN_PROVIDER_GET},
               {"PUT", AT_ROUTE_ADMIN_PROVIDER_PUT},
               {"PATCH", AT_ROUTE_ADMIN_PROVIDER_PATCH},
               {"DELETE", AT_ROUTE_ADMIN_PROVIDER_DELETE}};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        if (strcmp(method, ids[i].method) == 0) {
            rt->id = ids[i].id;
            return true;
        }
    }
    at_resp_error(err, 405, "MethodNotAllowed", "method not allowed on this path", NULL);
    err->allow = "GET, PUT, PATCH, DELETE";
    return false;
}

/* The admin JSON API's paths (docs/management-api.md). */
static bool admin_match(const char *p, const char *method, struct at_route *rt,
                        struct at_response *err)
{
    if (strcmp(p, "/admin/providers") == 0) {
        rt->id = AT_ROUTE_ADMIN_PROVIDERS;
        return !method_not_allowed(method, MHD_HTTP_METHOD_GET, err);
    }
    if (has_prefix(p, "/admin/providers/")) {
        return admin_provider_match(p + strlen("/admin/providers/"), method, rt, err);
    }
    if (strcmp(p, "/admin/roleAssignments") != 0) {
        at_resp_error(err, 404, "NotFound", "no such path", NULL);
        return false;
    }
    bool get = strcmp(method, "GET") == 0, put = strcmp(method, "PUT") == 0;
    if (!get && !put && strcmp(method, "DELETE") != 0) {
        at_resp_error(err, 405, "MethodNotAllowed", "method not allowed on this path", NULL);
        err->allow = "GET, PUT, DELETE";
        return false;
    }
    rt->id = get   ? AT_ROUTE_ADMIN_ROLES
             : put ? AT_ROUTE_ADMIN_ROLES_PUT
                   : AT_ROUTE_ADMIN_ROLES_DELETE;
    return true;
}

bool at_routes_match(const char *url, const char *method, struct at_route *rt,
                     struct at_response *err)
{
    memset(rt, 0, sizeof(*rt));
    const char *p = url;
    if (has_prefix(p, "/admin/")) {
        return admin_match(p, method, rt, err);
    }
    if (strcmp(p, "/metrics") == 0) {
        rt->id = AT_ROUTE_METRICS;
        return !method_not_allowed(method, MHD_HTTP_METHOD_GET, err);
    }
    if (has_prefix(p, "/providers/")) {
        const char *name = p + strlen("/providers/");
        const char *slash = strchr(name, '/');
        size_t len = slash != NULL ? (size_t)(slash - name) : strlen(name);
        if (slash == NULL || !at_routes_provider_name_ok(name, len)) {
            at_resp_error(err, 404, "NotFound", "no such path", NULL);
            return false;
        }
        memcpy(rt->provider, name, len);
        rt->provider[len] = '\0';
        p = slash;
    }
    if (strcmp(p, "/certs") == 0) {
        rt->id = AT_ROUTE_CERTS;
        return !method_not_allowed(method, MHD_HTTP_METHOD_GET, err);
    }
    if (strcmp(p, "/.well-known/openid-configuration") == 0) {
        rt->id = AT_ROUTE_OPENID;
        return !method_not_allowed(method, MHD_HTTP_METHOD_GET, err);
    }
    if (has_prefix(p, "/attest/")) {
        const char *type = p + strlen("/attest/");
        size_t len = strlen(type);
        if (len == 0 || strchr(type, '/') != NULL) {
            at_resp_error(err, 404, "NotFound", "no such path", NULL);
            return false;
        }
        rt->id = AT_ROUTE_ATTEST;
        rt->arg = type;
        rt->arg_len = len;
        return !method_not_allowed(method, MHD_HTTP_METHOD_POST, err);
    }
    if (has_prefix(p, "/policies/")) {
        const char *type = p + strlen("/policies/");
        size_t len = strlen(type);
        static const char reset[] = ":reset";
        bool is_reset = len > strlen(reset) && strcmp(type + len - strlen(reset), reset) == 0;
        if (is_reset) {
            len -= strlen(reset);
        }
        if (len == 0 || memchr(type, '/', len) != NULL || memchr(type, ':', len) != NULL) {
            at_resp_error(err, 404, "NotFound", "no such path", NULL);
            return false;
        }
        rt->arg = type;
        rt->arg_len = len;
        if (is_reset) {
            rt->id = AT_ROUTE_POLICY_RESET;
            return !method_not_allowed(method, MHD_HTTP_METHOD_POST, err);
        }
        rt->id = strcmp(method, MHD_HTTP_METHOD_PUT) == 0 ? AT_ROUTE_POLICY_SET : AT_ROUTE_POLICY;
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_PUT) != 0) {
            at_resp_error(err, 405, "MethodNotAllowed", "method not allowed on this path", NULL);
            err->allow = "GET, PUT";
            return false;
        }
        return true;
    }
    if (strcmp(p, "/certificates") == 0) {
        rt->id = AT_ROUTE_PCERTS;
        return !method_not_allowed(method, MHD_HTTP_METHOD_GET, err);
    }
    if (strcmp(p, "/certificates:add") == 0) {
        rt->id = AT_ROUTE_PCERTS_ADD;
        return !method_not_allowed(method, MHD_HTTP_METHOD_POST, err);
    }
    if (strcmp(p, "/certificates:remove") == 0) {
        rt->id = AT_ROUTE_PCERTS_REMOVE;
        return !method_not_allowed(method, MHD_HTTP_METHOD_POST, err);
    }
    if (has_prefix(p, "/tcbbaselines/")) {
        at_resp_error(err, 404, "NotFound", "TCB baselines are not served by this server yet",
                      NULL);
        return false;
    }
    at_resp_error(err, 404, "NotFound", "no such path", NULL);
    return false;
}

/* ---- api-version (maa-api.md §0) ---- */

static const struct {
    const char *name;
    enum api_version v;
} api_versions[] = {
    {"2020-10-01", API_2020_10_01},
    {"2022-08-01", API_2022_08_01},
    {"2022-09-01-preview", API_2022_09_01_PREVIEW},
    {"2025-06-01", API_2025_06_01},
};

/* false with `out` filled when the version is missing (and required) or unknown. */
bool at_routes_api_version(struct MHD_Connection *conn, bool required, enum api_version *v,
                           struct at_response *out)
{
    const char *s = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "api-version");
    *v = API_NONE;
    if (s == NULL || s[0] == '\0') {
        if (!required) {
            return true;
        }
        at_resp_error(out, 400, "MissingApiVersion",
                      "the api-version query parameter is required (e.g. api-version=2022-08-01)",
                      NULL);
        return false;
    }
    for (size_t i = 0; i < sizeof(api_versions) / sizeof(api_versions[0]); i++) {
        if (strcmp(s, api_versions[i].name) == 0) {
            *v = api_versions[i].v;
            return true;
        }
    }
    at_resp_error(out, 400, "UnsupportedApiVersion",
                  "unsupported api-version; supported: 2020-10-01, 2022-08-01, "
                  "2022-09-01-preview, 2025-06-01",
                  NULL);
    return false;
}

/* ---- provider and issuer ---- */

/* Host header: hostname or IP literal with an optional port; nothing else. */
static bool host_ok(const char *h)
{
    size_t n = strlen(h);
    if (n == 0 || n > 261) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = h[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == ':' || ch == '[' ||
                  ch == ']';
        if (!ok) {
            return false;
        }
    }
    return true;
}

static bool provider_exists(struct at_server *srv, const char *name)
{
    struct at_provider p;
    struct at_err e;
    at_err_init(&e);
    if (!at_is_ok(at_store_provider_get(srv->store, name, &p, &e))) {
        if (e.code != AT_E_NOT_FOUND) {
            at_log(AT_LOG_WARN, "provider lookup failed: %s", at_code_name(e.code));
        }
        return false;
    }
    at_provider_clear(&p);
    return true;
}

/*
 * The provider: /providers/{name} when given (it must exist), else the first
 * DNS label of Host when a provider of that name exists, else "default".
 * Fills the issuer: public_url or https://<Host>, plus /providers/{name} when
 * the path named it.
 */
bool at_routes_resolve(struct at_server *srv, struct MHD_Connection *conn,
                       const struct at_route *rt, char provider[AT_PROVIDER_NAME_MAX + 1],
                       char *issuer, size_t issuer_cap, struct at_response *out)
{
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (host != NULL && !host_ok(host)) {
        at_resp_error(out, 400, "InvalidParameter", "invalid Host header", NULL);
        return false;
    }
    if (rt->provider[0] != '\0') {
        if (!provider_exists(srv, rt->provider)) {
            at_resp_error(out, 404, "NotFound", "no such provider", NULL);
            return false;
        }
        memcpy(provider, rt->provider, AT_PROVIDER_NAME_MAX + 1);
    } else {
        snprintf(provider, AT_PROVIDER_NAME_MAX + 1, "%s", AT_PROVIDER_DEFAULT);
        if (host != NULL && host[0] != '[') {
            char label[AT_PROVIDER_NAME_MAX + 1];
            size_t n = 0;
            for (; host[n] != '\0' && host[n] != '.' && host[n] != ':'; n++) {
                if (n >= AT_PROVIDER_NAME_MAX) {
                    n = 0;
                    break;
                }
                char ch = host[n];
                label[n] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
            }
            label[n] = '\0';
            /* IP literals never name a provider (names start with a letter). */
            if (at_routes_provider_name_ok(label, n) && strcmp(label, AT_PROVIDER_DEFAULT) != 0 &&
                provider_exists(srv, label)) {
                memcpy(provider, label, n + 1);
            }
        }
    }
    char local[80];
    const char *base = srv->cfg->public_url;
    if (base == NULL && host == NULL) {
        snprintf(local, sizeof(local), "%s:%u", srv->cfg->listen_addr.host, (unsigned)srv->port);
        host = local;
    }
    bool named = rt->provider[0] != '\0';
    int n = snprintf(issuer, issuer_cap, "%s%s%s%s", base != NULL ? "" : "https://",
                     base != NULL ? base : host, named ? "/providers/" : "", named ? provider : "");
    if (n < 0 || (size_t)n >= issuer_cap) {
        at_resp_error(out, 400, "InvalidParameter", "Host header too long", NULL);
        return false;
    }
    return true;
}

/* ---- service errors ---- */

void at_routes_service_error(const struct at_err *e, json_t *explain, struct at_response *out)
{
    int st = at_code_http_status(e->code);
    const char *code = at_service_error_code(e);
    const char *msg = e->msg[0] != '\0' ? e->msg : at_code_name(e->code);
    json_t *details = NULL;
    if (explain != NULL) {
        /*
         * Azure.Core ErrorResponse: details[] of {code, message}; the engine's trace rides
         * along. A deep copy: sharing the service's tree (json_pack "O") leaked one string of
         * it under ASan in a way a stand-alone jansson test did not reproduce.
         */
        details = json_pack("[{s:s, s:s, s:o}]", "code", code, "message", "policy evaluation trace",
                            "explain", json_deep_copy(explain));
    }
    at_resp_error(out, st > 0 ? (unsigned)st : 500u, code != NULL ? code : "InternalError", msg,
                  details);
}

/* ---- K1, K2 ---- */

static void handle_certs(struct at_server *srv, const char *provider, struct at_response *out)
{
    struct at_err e;
    at_err_init(&e);
    json_t *jwks = at_service_jwks(srv->svc, provider, &e);
    if (jwks == NULL) {
        at_routes_service_error(&e, NULL, out);
        return;
    }
    at_resp_json(out, 200, jwks);
}

static void handle_openid(struct at_server *srv, const char *issuer, struct at_response *out)
{
    json_t *doc = at_service_openid(srv->svc, issuer);
    if (doc == NULL) {
        at_resp_error(out, 500, "InternalError", "cannot build the OpenID metadata", NULL);
        return;
    }
    at_resp_json(out, 200, doc);
}

/* ---- A1 A2 A4 A5: the attest body (maa-api.md §2.1-2.3) ---- */

/* Nesting depth of a JSON text, strings skipped: jansson's own cap is 2048. */
static bool json_depth_ok(const char *s, size_t n, unsigned max)
{
    unsigned depth = 0;
    bool in_str = false, esc = false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (in_str) {
            if (esc) {
                esc = false;
            } else if (ch == '\\') {
                esc = true;
            } else if (ch == '"') {
                in_str = false;
            }
        } else if (ch == '"') {
            in_str = true;
        } else if (ch == '[' || ch == '{') {
            if (++depth > max) {
                return false;
            }
        } else if ((ch == ']' || ch == '}') && depth > 0) {
            depth--;
        }
    }
    return true;
}

/* An optional member: absent or null → NULL; otherwise it must have `type`. */
static bool member(json_t *obj, const char *name, json_type type, json_t **out, char *why,
                   size_t why_cap)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        return true;
    }
    if (json_typeof(v) != type) {
        snprintf(why, why_cap, "'%s' must be a %s", name,
                 type == JSON_STRING ? "string" : "JSON object");
        return false;
    }
    *out = v;
    return true;
}

static bool data_member(json_t *root, const char *name, struct at_data *d, char *why,
                        size_t why_cap)
{
    json_t *o, *data, *type;
    memset(d, 0, sizeof(*d));
    if (!member(root, name, JSON_OBJECT, &o, why, why_cap)) {
        return false;
    }
    if (o == NULL) {
        return true;
    }
    if (!member(o, "data", JSON_STRING, &data, why, why_cap) ||
        !member(o, "dataType", JSON_STRING, &type, why, why_cap)) {
        return false;
    }
    if (data == NULL) {
        snprintf(why, why_cap, "'%s.data' is required", name);
        return false;
    }
    d->present = true;
    d->data_b64 = json_string_value(data);
    d->data_b64_len = json_string_length(data);
    d->is_json = false;
    if (type != NULL) {
        const char *t = json_string_value(type);
        if (strcasecmp(t, "JSON") == 0) {
            d->is_json = true;
        } else if (strcasecmp(t, "Binary") != 0) {
            snprintf(why, why_cap, "'%s.dataType' must be \"Binary\" or \"JSON\"", name);
            return false;
        }
    }
    return true;
}

static bool decode_attest(json_t *root, enum at_att_type type, struct at_attest_request *req,
                          char *why, size_t why_cap)
{
    const char *ev_name =
        (type == AT_ATT_SGX_ENCLAVE || type == AT_ATT_TDX_VM) ? "quote" : "report";
    json_t *ev, *draft, *nonce;
    if (!json_is_object(root)) {
        snprintf(why, why_cap, "the request body must be a JSON object");
        return false;
    }
    if (!member(root, ev_name, JSON_STRING, &ev, why, why_cap) ||
        !member(root, "draftPolicyForAttestation", JSON_STRING, &draft, why, why_cap) ||
        !member(root, "nonce", JSON_STRING, &nonce, why, why_cap) ||
        !data_member(root, "runtimeData", &req->runtime_data, why, why_cap) ||
        !data_member(root, "initTimeData", &req->init_time_data, why, why_cap)) {
        return false;
    }
    if (ev == NULL || json_string_length(ev) == 0) {
        snprintf(why, why_cap, "'%s' is required", ev_name);
        return false;
    }
    req->type = type;
    req->evidence_b64 = json_string_value(ev);
    req->evidence_b64_len = json_string_length(ev);
    if (draft != NULL) {
        req->draft_policy = json_string_value(draft);
        req->draft_policy_len = json_string_length(draft);
    }
    req->nonce = nonce != NULL ? json_string_value(nonce) : NULL;
    return true;
}

static void attest_run(struct at_server *srv, struct MHD_Connection *conn,
                       const struct at_route *rt, const char *provider, const char *issuer,
                       const char *body, size_t body_len, const char *req_id,
                       struct at_routes_attest_audit *a, struct at_response *out)
{
    enum api_version v;
    a->result = "InvalidParameter"; /* until a step says otherwise */
    if (!at_routes_api_version(conn, true, &v, out)) {
        return;
    }
    enum at_att_type type;
    struct at_err e;
    at_err_init(&e);
    if (!at_is_ok(at_att_type_parse(rt->arg, rt->arg_len, &type, &e)) || type == AT_ATT_TPM) {
        /* Tpm (a multi-round protocol, §2.4) is not served yet: same answer as unknown. */
        at_resp_error(out, 404, "NotFound", "unknown or unsupported attestation type", NULL);
        a->result = "NotFound";
        return;
    }
    a->type = at_att_type_name(type);
    if ((type == AT_ATT_TDX_VM && v < API_2025_06_01) ||
        (type == AT_ATT_SEV_SNP_VM && v < API_2022_08_01)) {
        at_resp_error(out, 400, "UnsupportedApiVersion",
                      type == AT_ATT_TDX_VM ? "TdxVm requires api-version 2025-06-01"
                                            : "SevSnpVm requires api-version 2022-08-01 or later",
                      NULL);
        a->result = "UnsupportedApiVersion";
        return;
    }
    if (!json_depth_ok(body, body_len, AT_LIMIT_JSON_DEPTH)) {
        at_resp_error(out, 400, "InvalidParameter", "request body nested too deeply", NULL);
        return;
    }
    json_error_t jerr;
    json_t *root = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        char msg[256];
        snprintf(msg, sizeof(msg), "malformed JSON body at line %d column %d: %s", jerr.line,
                 jerr.column, jerr.text);
        at_resp_error(out, 400, "InvalidParameter", msg, NULL);
        return;
    }
    struct at_attest_request req;
    memset(&req, 0, sizeof(req));
    req.provider = provider;
    req.issuer = issuer;
    char why[160];
    if (!decode_attest(root, type, &req, why, sizeof(why))) {
        json_decref(root);
        at_resp_error(out, 400, "InvalidParameter", why, NULL);
        return;
    }
    struct at_attest_result res;
    memset(&res, 0, sizeof(res));
    if (!at_is_ok(at_service_attest(srv->svc, &req, &res, &e))) {
        at_log_req(AT_LOG_DEBUG, req_id, "attest failed: code=%s check=%s", at_code_name(e.code),
                   e.check != NULL ? e.check : "-");
        at_routes_service_error(&e, res.explain, out);
        a->result = at_service_error_code(&e);
        memcpy(a->res, &res, sizeof(res)); /* the hashes; token and explain are not kept */
        a->res->token = NULL;
        a->res->explain = NULL;
        at_attest_result_clear(&res);
        json_decref(root);
        return;
    }
    a->result = "ok";
    memcpy(a->res, &res, sizeof(res));
    a->res->token = NULL;
    a->res->explain = NULL;
    json_decref(root);
    if (srv->cfg->fixed_time) {
        char when[32];
        at_time_format(srv->cfg->fixed_now, when, sizeof(when));
        at_log_req(AT_LOG_WARN, req_id, "issued a token on the replay clock (as of %s)", when);
    }
    json_t *doc = json_pack("{s:s}", "token", res.token);
    at_attest_result_clear(&res);
    at_resp_json(out, 200, doc);
}

/* Every attestation request is audited, whatever its outcome (docs/audit-log.md). */
static void handle_attest(struct at_server *srv, struct MHD_Connection *conn,
                          const struct at_route *rt, const char *provider, const char *issuer,
                          const char *body, size_t body_len, const char *req_id,
                          struct at_response *out)
{
    struct at_attest_result kept;
    memset(&kept, 0, sizeof(kept));
    struct at_routes_attest_audit a = {.provider = provider, .res = &kept};
    attest_run(srv, conn, rt, provider, issuer, body, body_len, req_id, &a, out);
    at_routes_audit_attest(&a);
}

/* ---- P1-P3, C1-C3: the management plane (maa-api.md §2.5, §2.6, §6) ---- */

/* An auth message inside a quoted-string of WWW-Authenticate (RFC 7230 §3.2.6). */
static void header_text(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    for (; src != NULL && *src != '\0' && n + 1 < cap; src++) {
        unsigned char ch = (unsigned char)*src;
        dst[n++] = (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') ? ' ' : (char)ch;
    }
    dst[n] = '\0';
}

/* 401 with a Bearer challenge (RFC 6750 §3); error= is omitted for a missing token. */
void at_routes_unauthorized(struct at_response *out, const struct at_err *e, bool missing)
{
    const char *msg = e->msg[0] != '\0' ? e->msg : "authentication failed";
    char why[200];
    header_text(why, sizeof(why), msg);
    if (missing) {
        snprintf(out->www_authenticate, sizeof(out->www_authenticate),
                 "Bearer realm=\"attestd\", error_description=\"%s\"", why);
    } else {
        snprintf(out->www_authenticate, sizeof(out->www_authenticate),
                 "Bearer realm=\"attestd\", error=\"invalid_token\", error_description=\"%s\"",
                 why);
    }
    at_resp_error(out, 401, "Unauthorized", msg, NULL);
}

bool at_routes_takes_body(const struct at_route *rt)
{
    switch (rt->id) {
    case AT_ROUTE_ATTEST:
    case AT_ROUTE_POLICY_SET:
    case AT_ROUTE_POLICY_RESET:
    case AT_ROUTE_PCERTS_ADD:
    case AT_ROUTE_PCERTS_REMOVE:
    case AT_ROUTE_ADMIN_PROVIDER_PUT:
    case AT_ROUTE_ADMIN_PROVIDER_PATCH:
    case AT_ROUTE_ADMIN_ROLES_PUT:
        return true;
    case AT_ROUTE_CERTS:
    case AT_ROUTE_OPENID:
    case AT_ROUTE_POLICY:
    case AT_ROUTE_PCERTS:
    case AT_ROUTE_ADMIN_PROVIDERS:
    case AT_ROUTE_ADMIN_PROVIDER_GET:
    case AT_ROUTE_ADMIN_PROVIDER_DELETE:
    case AT_ROUTE_ADMIN_ROLES:
    case AT_ROUTE_ADMIN_ROLES_DELETE:
    case AT_ROUTE_METRICS:
        return false;
    }
    return false;
}

/*
 * Dispatch: MAA management and admin routes go to their files (each authenticates first,
 * so an anonymous caller learns nothing); the data plane is handled here.
 */
void at_routes_handle(struct at_server *srv, struct MHD_Connection *conn, const struct at_route *rt,
                      const char *body, size_t body_len, const char *req_id,
                      char provider_out[AT_PROVIDER_NAME_MAX + 1], struct at_response *out)
{
    provider_out[0] = '\0';
    at_routes_audit_begin(conn, req_id);
    /* One switch classifies every route: the management planes have their own handlers. */
    switch (rt->id) {
    case AT_ROUTE_POLICY:
    case AT_ROUTE_POLICY_SET:
    case AT_ROUTE_POLICY_RESET:
    case AT_ROUTE_PCERTS:
    case AT_ROUTE_PCERTS_ADD:
    case AT_ROUTE_PCERTS_REMOVE:
        at_routes_manage_handle(srv, conn, rt, body, body_len, req_id, provider_out, out);
        return;
    case AT_ROUTE_ADMIN_PROVIDERS:
    case AT_ROUTE_ADMIN_PROVIDER_GET:
    case AT_ROUTE_ADMIN_PROVIDER_PUT:
    case AT_ROUTE_ADMIN_PROVIDER_PATCH:
    case AT_ROUTE_ADMIN_PROVIDER_DELETE:
    case AT_ROUTE_ADMIN_ROLES:
    case AT_ROUTE_ADMIN_ROLES_PUT:
    case AT_ROUTE_ADMIN_ROLES_DELETE:
        at_routes_admin_handle(srv, conn, rt, body, body_len, req_id, provider_out, out);
        return;
    case AT_ROUTE_METRICS:
        at_routes_metrics_handle(srv, conn, req_id, out);
        return;
    case AT_ROUTE_CERTS:
    case AT_ROUTE_OPENID:
    case AT_ROUTE_ATTEST:
        break;
    }
    /* The data plane: api-version (optional except on attest), provider, then the call. */
    char provider[AT_PROVIDER_NAME_MAX + 1];
    char issuer[AT_CONFIG_URL_MAX + 300];
    enum api_version v;
    if (rt->id != AT_ROUTE_ATTEST && !at_routes_api_version(conn, false, &v, out)) {
        return;
    }
    if (!at_routes_resolve(srv, conn, rt, provider, issuer, sizeof(issuer), out)) {
        return;
    }
    memcpy(provider_out, provider, sizeof(provider));
    if (!at_net_provider_gate(srv, conn, provider, req_id, out)) {
        return;
    }
    if (rt->id == AT_ROUTE_CERTS) {
        handle_certs(srv, provider, out);
    } else if (rt->id == AT_ROUTE_OPENID) {
        handle_openid(srv, issuer, out);
    } else if (at_routes_attest_token_ok(srv, conn, provider, req_id, out)) {
        handle_attest(srv, conn, rt, provider, issuer, body, body_len, req_id, out);
    }
}
