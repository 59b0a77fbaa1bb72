/*
 * libmicrohttpd setup and the request life cycle: accumulate a capped body,
 * dispatch to routes.c, send MAA-shaped JSON with the common headers, log one
 * line per request. Listeners and their threads are listeners.c; TLS through MHD's GnuTLS
 * back end.
 */
#include "server/http.h"

#include "base/timeutil.h"
#include "monitor/metrics.h"
#include "server/net.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* MHD's own messages: errors while starting, debug afterwards (TLS scanners are noisy). */
static _Atomic bool mhd_started = false;

void at_http_set_started(bool started)
{
    atomic_store(&mhd_started, started);
}

void at_http_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    enum at_log_level l = atomic_load(&mhd_started) ? AT_LOG_DEBUG : AT_LOG_ERROR;
    if (!at_log_enabled(l)) {
        return;
    }
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) {
        msg[--n] = '\0';
    }
    at_log(l, "libmicrohttpd: %s", msg);
}

/* ---- responses ---- */

void at_resp_json(struct at_response *r, unsigned status, json_t *doc)
{
    r->status = status;
    r->body = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (r->body == NULL) {
        /* Out of memory while encoding: a fixed body (NULL = MHD sends nothing). */
        r->status = 500;
        r->body = strdup("{\"error\":{\"code\":\"InternalError\",\"message\":\"out of memory\"}}");
    }
    r->body_len = r->body != NULL ? strlen(r->body) : 0;
}

void at_resp_error(struct at_response *r, unsigned status, const char *code, const char *msg,
                   json_t *details)
{
    json_t *err = json_object();
    if (err != NULL) {
        json_object_set_new(err, "code", json_string(code));
        /* Messages come from our own code; json_string rejects invalid UTF-8. */
        json_t *m = json_string(msg);
        json_object_set_new(err, "message", m != NULL ? m : json_string("(invalid message)"));
        if (details != NULL) {
            json_object_set(err, "details", details);
        }
    }
    json_decref(details);
    json_t *doc = err != NULL ? json_pack("{s:o}", "error", err) : NULL;
    at_resp_json(r, status, doc);
}

/* ---- per-request state ---- */

struct req {
    const struct at_listener *ls;
    char id[37];
    struct timespec t0;
    char method[12];
    char path[96]; /* sanitized for the log */
    char provider[AT_PROVIDER_NAME_MAX + 1];
    unsigned status;
    bool responded;
    bool overflow;    /* body passed max_body_bytes: 413 when it ends */
    bool has_pending; /* `pending` is the answer (404/405) once the request is in */
    bool matched;     /* rt names a route, even on 405 (metrics label; else "unmatched") */
    struct at_response pending;
    size_t drained; /* body bytes read and thrown away */
    struct at_route rt;
    char *body;
    size_t body_len;
    size_t body_cap;
};

static void make_uuid(char out[37])
{
    uint8_t b[16];
    if (RAND_bytes(b, sizeof(b)) != 1) {
        /* Request ids are not secrets; fall back to time + address entropy. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)(uintptr_t)b;
        for (size_t i = 0; i < sizeof(b); i++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            b[i] = (uint8_t)(x >> 56);
        }
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[o++] = '-';
        }
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}

/* Copy for the log: printable ASCII without spaces or quotes, capped. */
static void sanitize(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    for (; src[0] != '\0' && n + 4 < cap; src++) {
        unsigned char ch = (unsigned char)src[0];
        dst[n++] = (ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\') ? (char)ch : '?';
    }
    if (src[0] != '\0') {
        memcpy(dst + n, "...", 3);
        n += 3;
    }
    dst[n] = '\0';
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct req *rq,
                                     struct at_response *r)
{
    rq->responded = true;
    rq->status = r->status;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        r->body_len, r->body, r->body != NULL ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        free(r->body);
        r->body = NULL;
        return MHD_NO;
    }
    r->body = NULL; /* owned by MHD now */
    enum MHD_Result ok = MHD_YES;
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                r->content_type != NULL ? r->content_type
                                                        : "application/json; charset=utf-8") !=
            MHD_YES ||
        MHD_add_response_header(resp, "x-ms-request-id", rq->id) != MHD_YES ||
        MHD_add_response_header(resp, "x-ms-maa-service-version", "attestd/" ATTESTD_VERSION) !=
            MHD_YES ||
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES ||
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") != MHD_YES ||
        (r->allow != NULL &&
         MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow) != MHD_YES) ||
        (r->www_authenticate[0] != '\0' &&
         MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, r->www_authenticate) !=
             MHD_YES)) {
        ok = MHD_NO;
    }
    if (ok == MHD_YES && !at_http_extra_headers(rq->ls, resp, r)) {
        ok = MHD_NO;
    }
    if (ok == MHD_YES) {
        ok = MHD_queue_response(conn, r->status, resp);
    }
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, struct req *rq, unsigned status,
                                  const char *code, const char *msg)
{
    struct at_response r = {0};
    at_resp_error(&r, status, code, msg, NULL);
    return send_response(conn, rq, &r);
}

/* Content-Length as declared, when it is a plain decimal number. */
static bool declared_length(struct MHD_Connection *conn, uint64_t *out)
{
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl == NULL || cl[0] == '\0') {
        return false;
    }
    uint64_t v = 0;
    for (const char *p = cl; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10) {
            return false;
        }
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = v;
    return true;
}

static enum MHD_Result too_large(struct MHD_Connection *conn, struct req *rq, size_t max)
{
    char msg[96];
    snprintf(msg, sizeof(msg), "request body larger than %zu bytes", max);
    return send_error(conn, rq, 413, "PayloadTooLarge", msg);
}

static enum MHD_Result dispatch(struct at_server *srv, struct MHD_Connection *conn, struct req *rq)
{
    struct at_response r = {0};
    at_routes_handle(srv, conn, &rq->rt, rq->body != NULL ? rq->body : "", rq->body_len, rq->id,
                     rq->provider, &r);
    at_http_after(rq->ls, conn, &rq->rt, &r);
    if (rq->body != NULL) {
        /* Evidence is not secret, but there is no reason to keep it around. */
        free(rq->body);
        rq->body = NULL;
    }
    return send_response(conn, rq, &r);
}

/* Whether the request carries a body (declared length > 0, or chunked). */
static bool has_body(struct MHD_Connection *conn)
{
    uint64_t n;
    if (declared_length(conn, &n)) {
        return n > 0;
    }
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) !=
           NULL;
}

/*
 * First callback (headers only). MHD 0.9.75 accepts a response only now or once
 * the whole request is in; one queued now closes the connection afterwards, so
 * only answers that refuse an unread body go out early. Everything else waits
 * for the final callback and keeps the connection alive.
 */
static enum MHD_Result on_first(struct at_server *srv, struct MHD_Connection *conn, const char *url,
                                const char *method, struct req *rq)
{
    bool found = false;
    bool ok = at_http_source_gate(rq->ls, conn, &rq->pending) &&
              (found = at_routes_match(url, method, &rq->rt, &rq->pending)) &&
              at_http_gate(rq->ls, conn, &rq->rt, rq->id, &rq->pending);
    rq->matched = found || rq->pending.status == 405; /* 405: the route exists */
    if (!ok) {
        rq->has_pending = true;
        if (has_body(conn)) {
            return send_response(conn, rq, &rq->pending);
        }
        return MHD_YES;
    }
    uint64_t declared;
    if (declared_length(conn, &declared) && declared > srv->cfg->max_body_bytes) {
        /* Refuse before reading a byte of it (curl waits on Expect: 100-continue). */
        return too_large(conn, rq, srv->cfg->max_body_bytes);
    }
    return MHD_YES;
}

static enum MHD_Result on_body(struct at_server *srv, struct req *rq, const char *data, size_t n)
{
    size_t max = srv->cfg->max_body_bytes;
    if (rq->overflow || rq->has_pending || !at_routes_takes_body(&rq->rt)) {
        /* A body nobody reads (chunked, so not refused up front): drain a little, then hang up. */
        rq->drained += n;
        return rq->drained > AT_HTTP_DRAIN_BYTES ? MHD_NO : MHD_YES;
    }
    if (n > max - rq->body_len) {
        /* Chunked body past the cap: 413 once it ends (MHD 0.9.75 cannot answer mid-body). */
        rq->overflow = true;
        rq->drained = n;
        free(rq->body);
        rq->body = NULL;
        rq->body_len = rq->body_cap = 0;
        return MHD_YES;
    }
    if (rq->body_len + n > rq->body_cap) {
        size_t cap = rq->body_cap == 0 ? 4096 : rq->body_cap;
        while (cap < rq->body_len + n) {
            cap = cap > max / 2 ? max : cap * 2;
        }
        char *nb = realloc(rq->body, cap + 1);
        if (nb == NULL) {
            return MHD_NO;
        }
        rq->body = nb;
        rq->body_cap = cap;
    }
    memcpy(rq->body + rq->body_len, data, n);
    rq->body_len += n;
    rq->body[rq->body_len] = '\0';
    return MHD_YES;
}

enum MHD_Result at_http_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **con_cls)
{
    (void)version;
    const struct at_listener *ls = cls;
    struct at_server *srv = ls->srv;
    struct req *rq = *con_cls;
    if (rq == NULL) {
        rq = calloc(1, sizeof(*rq));
        if (rq == NULL) {
            return MHD_NO;
        }
        *con_cls = rq;
        rq->ls = ls;
        at_net_head_done(conn);
        atomic_fetch_add(&srv->inflight, 1u);
        clock_gettime(CLOCK_MONOTONIC, &rq->t0);
        make_uuid(rq->id);
        sanitize(rq->method, sizeof(rq->method), method);
        sanitize(rq->path, sizeof(rq->path), url);
        return on_first(srv, conn, url, method, rq);
    }
    if (rq->responded) {
        /* Answered early: MHD discards the rest. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return on_body(srv, rq, upload_data, n);
    }
    if (rq->has_pending) {
        rq->has_pending = false;
        return send_response(conn, rq, &rq->pending);
    }
    if (rq->overflow) {
        return too_large(conn, rq, srv->cfg->max_body_bytes);
    }
    return dispatch(srv, conn, rq);
}

void at_http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                          enum MHD_RequestTerminationCode toe)
{
    const struct at_listener *ls = cls;
    struct at_server *srv = ls->srv;
    struct req *rq = *con_cls;
    if (rq == NULL) {
        return;
    }
    at_net_head_rearm(srv, conn);
    *con_cls = NULL;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t ms = ((int64_t)t1.tv_sec - (int64_t)rq->t0.tv_sec) * 1000 +
                 ((int64_t)t1.tv_nsec - (int64_t)rq->t0.tv_nsec) / 1000000;
    at_log_req(AT_LOG_INFO, rq->id, "request method=%s path=%s status=%u ms=%lld provider=%s%s",
               rq->method, rq->path, rq->status, (long long)ms,
               rq->provider[0] != '\0' ? rq->provider : "-",
               toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
    at_metrics_http_request(rq->matched ? at_route_name(rq->rt.id) : "unmatched", rq->status,
                            (double)(t1.tv_sec - rq->t0.tv_sec) +
                                (double)(t1.tv_nsec - rq->t0.tv_nsec) / 1e9);
    free(rq->body);
    free(rq->pending.body);
    free(rq);
    atomic_fetch_sub(&srv->inflight, 1u);
}

at_status at_http_start(struct at_server *srv, const char *cert_pem, const char *key_pem,
                        struct at_err *e)
{
    atomic_store(&srv->inflight, 0u);
    at_status st = at_net_start(srv, cert_pem, key_pem, e);
    if (!at_is_ok(st)) {
        at_net_stop(srv);
    }
    return st;
}

void at_http_stop(struct at_server *srv)
{
    if (srv->net == NULL) {
        return;
    }
    for (size_t i = 0; i < srv->net->n; i++) {
        if (srv->net->ls[i].daemon == NULL) {
            continue;
        }
        MHD_socket fd = MHD_quiesce_daemon(srv->net->ls[i].daemon);
        if (fd != MHD_INVALID_SOCKET) {
            close(fd);
        }
    }
    unsigned waited_ms = 0;
    unsigned left;
    while ((left = atomic_load(&srv->inflight)) > 0 && waited_ms < AT_HTTP_DRAIN_MS) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        waited_ms += 10;
    }
    if (left > 0) {
        at_log(AT_LOG_WARN, "shutdown: %u request(s) still in flight after %u ms; stopping anyway",
               left, waited_ms);
    }
    at_net_stop(srv);
}
