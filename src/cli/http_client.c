/* attestctl's HTTPS client over libcurl; see http_client.h. */
#include "cli/http_client.h"

#include "base/secure.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink {
    char *buf;
    size_t len;
    size_t cap;
    bool over; /* the answer passed AT_HTTP_MAX_RESPONSE */
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *userp)
{
    struct sink *s = userp;
    if (size != 0 && nmemb > SIZE_MAX / size) {
        return 0;
    }
    size_t n = size * nmemb;
    if (n > AT_HTTP_MAX_RESPONSE - s->len) {
        s->over = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap == 0 ? 4096 : s->cap;
        while (cap < s->len + n + 1) {
            cap *= 2;
        }
        char *nb = realloc(s->buf, cap);
        if (nb == NULL) {
            return 0;
        }
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return n;
}

/* Process-wide libcurl initialisation, once; never cleaned up (the process exits). */
static int global_init(void)
{
    static int done;
    if (!done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            return -1;
        }
        done = 1;
    }
    return 0;
}

/* "Authorization: Bearer <token>" on the heap (wiped and freed by the caller). */
static char *auth_header(const char *token, size_t *cap)
{
    static const char prefix[] = "Authorization: Bearer ";
    size_t tl = strlen(token);
    if (tl > SIZE_MAX - sizeof(prefix)) {
        return NULL;
    }
    char *h = malloc(sizeof(prefix) + tl);
    if (h == NULL) {
        return NULL;
    }
    memcpy(h, prefix, sizeof(prefix) - 1);
    memcpy(h + sizeof(prefix) - 1, token, tl + 1);
    *cap = sizeof(prefix) + tl;
    return h;
}

static void set_err(char *err, size_t errcap, const char *what, const char *detail)
{
    snprintf(err, errcap, "%s%s%s", what, detail != NULL && detail[0] != '\0' ? ": " : "",
             detail != NULL ? detail : "");
}

static bool set_opts(CURL *c, const struct at_http_req *req, struct curl_slist *hdrs,
                     struct sink *s, char *ebuf)
{
    bool ok = curl_easy_setopt(c, CURLOPT_URL, req->url) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_VERBOSE, 0L) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, AT_HTTP_CONNECT_TIMEOUT_MS) ==
                   CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, AT_HTTP_TOTAL_TIMEOUT_MS) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                                (curl_off_t)AT_HTTP_MAX_RESPONSE) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_WRITEDATA, s) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method) == CURLE_OK;
    if (ok && req->cacert != NULL) {
        ok = curl_easy_setopt(c, CURLOPT_CAINFO, req->cacert) == CURLE_OK;
    }
    if (ok && strcmp(req->method, "GET") == 0) {
        ok = curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) == CURLE_OK;
    } else if (ok && req->body != NULL) {
        ok = curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len) ==
                 CURLE_OK;
    } else if (ok && strcmp(req->method, "DELETE") != 0) {
        /* PUT/POST with an empty body. */
        ok = curl_easy_setopt(c, CURLOPT_POSTFIELDS, "") == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0) == CURLE_OK;
    }
    return ok;
}

/* Request headers: Accept, Content-Type, Authorization; NULL on failure. */
static struct curl_slist *make_headers(const struct at_http_req *req)
{
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    /* Suppress curl's "Expect: 100-continue" round trip for larger bodies. */
    struct curl_slist *t = h != NULL ? curl_slist_append(h, "Expect:") : NULL;
    h = t != NULL ? t : h;
    if (t == NULL) {
        curl_slist_free_all(h);
        return NULL;
    }
    if (req->content_type != NULL) {
        char ct[128];
        int n = snprintf(ct, sizeof(ct), "Content-Type: %s", req->content_type);
        t = n > 0 && (size_t)n < sizeof(ct) ? curl_slist_append(h, ct) : NULL;
        if (t == NULL) {
            curl_slist_free_all(h);
            return NULL;
        }
    }
    if (req->token != NULL) {
        size_t cap = 0;
        char *a = auth_header(req->token, &cap);
        t = a != NULL ? curl_slist_append(h, a) : NULL;
        if (a != NULL) {
            at_free_secret(a, cap);
        }
        if (t == NULL) {
            curl_slist_free_all(h);
            return NULL;
        }
    }
    return h;
}

int at_http_request(const struct at_http_req *req, struct at_http_resp *resp, char *err,
                    size_t errcap)
{
    if (global_init() != 0) {
        set_err(err, errcap, "cannot initialise libcurl", NULL);
        return -1;
    }
    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = c != NULL ? make_headers(req) : NULL;
    if (hdrs == NULL) {
        curl_easy_cleanup(c);
        set_err(err, errcap, "out of memory", NULL);
        return -1;
    }
    struct sink s = {NULL, 0, 0, false};
    char ebuf[CURL_ERROR_SIZE];
    ebuf[0] = '\0';
    int rc = -1;
    if (!set_opts(c, req, hdrs, &s, ebuf)) {
        set_err(err, errcap, "cannot configure the HTTP request", NULL);
    } else {
        CURLcode cc = curl_easy_perform(c);
        long status = 0;
        if (cc == CURLE_OK &&
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK) {
            rc = 0;
        } else if (s.over || cc == CURLE_FILESIZE_EXCEEDED) {
            snprintf(err, errcap, "the response is larger than %zu bytes", AT_HTTP_MAX_RESPONSE);
        } else {
            /* curl's messages name the host and the failure, never request headers. */
            set_err(err, errcap, "request failed", ebuf[0] != '\0' ? ebuf : curl_easy_strerror(cc));
        }
        if (rc == 0) {
            if (s.buf == NULL) {
                s.buf = calloc(1, 1);
            }
            if (s.buf == NULL) {
                set_err(err, errcap, "out of memory", NULL);
                rc = -1;
            } else {
                resp->status = status;
                resp->body = s.buf;
                resp->body_len = s.len;
                s.buf = NULL;
            }
        }
    }
    free(s.buf);
    /* The header list holds a copy of the bearer token: wipe it before freeing. */
    for (struct curl_slist *p = hdrs; p != NULL; p = p->next) {
        at_zeroize(p->data, strlen(p->data));
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return rc;
}

void at_http_resp_clear(struct at_http_resp *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    resp->status = 0;
}
