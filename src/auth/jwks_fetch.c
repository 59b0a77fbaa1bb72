/*
 * Fetch a trusted issuer's JWKS from its https jwks_uri (docs/identity.md "Keys").
 * The answer is hostile input until checked: https only, TLS 1.2 or later with peer and
 * host verification always on, no redirects, bounded time and size, and the body is
 * parsed as JSON whatever its Content-Type says, then checked like a jwks_file.
 * No token is ever involved here, so none can leak into a message.
 */
#include "auth/auth_int.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CHECK "jwks"

#define CONNECT_TIMEOUT_MS 5000L
#define TOTAL_TIMEOUT_MS   10000L

struct sink {
    char *buf;
    size_t len;
    size_t cap;
    bool over; /* the body passed AT_AUTH_JWKS_MAX */
    bool nomem;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *userp)
{
    struct sink *s = userp;
    if (size != 0 && nmemb > SIZE_MAX / size) {
        s->over = true;
        return 0;
    }
    size_t n = size * nmemb;
    if (n > AT_AUTH_JWKS_MAX - s->len) {
        s->over = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (s->len + n > s->cap) {
        size_t cap = s->cap == 0 ? 4096 : s->cap;
        while (cap < s->len + n) {
            cap *= 2;
        }
        char *nb = realloc(s->buf, cap);
        if (nb == NULL) {
            s->nomem = true;
            return 0;
        }
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    return n;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static bool curl_ready;

/* Process-wide libcurl initialisation, once; never cleaned up (the process exits). */
static void curl_init_once(void)
{
    curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

/* Set every transfer option; false when libcurl refuses one (fail closed). */
static bool set_options(CURL *h, const char *uri, const char *ca_file, struct sink *s, char *errbuf)
{
    bool ok = true;
    ok &= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_URL, uri) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https") == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK;
    if (ca_file != NULL) {
        ok &= curl_easy_setopt(h, CURLOPT_CAINFO, ca_file) == CURLE_OK;
    }
    ok &= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, TOTAL_TIMEOUT_MS) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK; /* we run in worker threads */
    ok &= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)AT_AUTH_JWKS_MAX) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_USERAGENT, "attestd/" ATTESTD_VERSION) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_WRITEDATA, s) == CURLE_OK;
    return ok;
}

/* GET uri into s; the failure says why (curl's message names the host, never a secret). */
static at_status get_body(const char *uri, const char *ca_file, struct sink *s, struct at_err *e)
{
    AT_ENSURE(pthread_once(&curl_once, curl_init_once) == 0 && curl_ready, e, AT_E_INTERNAL, CHECK,
              "libcurl initialisation failed");
    CURL *h = curl_easy_init();
    AT_ENSURE(h != NULL, e, AT_E_NOMEM, CHECK, "out of memory");
    char errbuf[CURL_ERROR_SIZE];
    errbuf[0] = '\0';
    if (!set_options(h, uri, ca_file, s, errbuf)) {
        curl_easy_cleanup(h);
        AT_FAIL(e, AT_E_INTERNAL, CHECK, "libcurl refused a transfer option");
    }
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    if (rc == CURLE_OK && curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) {
        status = 0;
    }
    curl_easy_cleanup(h);
    AT_ENSURE(!s->nomem, e, AT_E_NOMEM, CHECK, "out of memory");
    AT_ENSURE(!s->over && rc != CURLE_FILESIZE_EXCEEDED, e, AT_E_LIMIT, CHECK,
              "JWKS from %.200s is larger than %zu bytes", uri, AT_AUTH_JWKS_MAX);
    AT_ENSURE(rc == CURLE_OK, e, AT_E_IO, CHECK, "cannot fetch JWKS from %.200s: %.200s", uri,
              errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
    AT_ENSURE(status == 200, e, AT_E_IO, CHECK, "fetching JWKS from %.200s answered HTTP %ld", uri,
              status);
    return at_ok();
}

at_status at_jwks_fetch(const char *uri, const char *ca_file, json_t **out, struct at_err *e)
{
    AT_ENSURE(uri != NULL && strncmp(uri, "https://", 8) == 0 && out != NULL, e, AT_E_USAGE, CHECK,
              "a JWKS URI must be https://");
    struct sink s = {0};
    at_status st = get_body(uri, ca_file, &s, e);
    if (!at_is_ok(st)) {
        free(s.buf);
        return st;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(s.buf != NULL ? s.buf : "", s.len, JSON_REJECT_DUPLICATES, &jerr);
    free(s.buf);
    if (doc == NULL) {
        AT_FAIL(e, AT_E_PARSE, CHECK, "JWKS from %.200s is not JSON (line %d: %s)", uri, jerr.line,
                jerr.text);
    }
    st = at_jwks_check(doc, e);
    if (!at_is_ok(st)) {
        json_decref(doc);
        at_err_context(e, uri);
        return st;
    }
    *out = doc;
    return at_ok();
}
