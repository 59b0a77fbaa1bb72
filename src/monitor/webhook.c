/*
 * The alert webhook (docs/alerts.md): a background thread POSTs queued JSON alerts over
 * HTTPS (TLS >= 1.2, peer and host verified, optional private CA, optional bearer token
 * read from a file). A bounded queue: when full, the new alert is dropped and counted.
 * Each alert gets up to AT_WEBHOOK_ATTEMPTS attempts with exponential backoff and jitter;
 * giving up is counted (attestd_alert_webhook_deliveries_total{outcome="gave_up"}) and
 * logged. Nothing here blocks the thread that raised the alert.
 */
#include "monitor/webhook.h"

#include "base/fileio.h"
#include "base/log.h"
#include "base/secure.h"
#include "monitor/metrics.h"

#include <curl/curl.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_CAP 64u

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool running, stopping;
    char *url, *ca;
    char *token; /* secret: at_free_secret */
    size_t token_len;
    char *queue[QUEUE_CAP];
    unsigned head, count;
    unsigned base_ms;
} W = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

/* One POST: 0 delivered, 1 retry later, -1 give up (a 4xx other than 408/429). */
static int post_once(const char *body, long *status, char *errbuf)
{
    CURL *h = curl_easy_init();
    if (h == NULL) {
        snprintf(errbuf, CURL_ERROR_SIZE, "curl_easy_init failed");
        return 1;
    }
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    bool ok = hdr != NULL;
    ok &= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_URL, W.url) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
    if (W.ca != NULL) {
        ok &= curl_easy_setopt(h, CURLOPT_CAINFO, W.ca) == CURLE_OK;
    }
    if (W.token != NULL) {
        ok &= curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, W.token) == CURLE_OK;
    }
    ok &= curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_USERAGENT, "attestd/" ATTESTD_VERSION) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body)) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    int rc = 1;
    *status = 0;
    if (!ok) {
        snprintf(errbuf, CURL_ERROR_SIZE, "libcurl refused an option");
        rc = -1;
    } else {
        errbuf[0] = '\0';
        CURLcode cc = curl_easy_perform(h);
        if (cc == CURLE_OK) {
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
            if (*status >= 200 && *status < 300) {
                rc = 0;
            } else if (*status >= 400 && *status < 500 && *status != 408 && *status != 429) {
                rc = -1;
            }
        } else if (errbuf[0] == '\0') {
            snprintf(errbuf, CURL_ERROR_SIZE, "%s", curl_easy_strerror(cc));
        }
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return rc;
}

/* Wait `ms` unless stopping; true when stopping. Called with the lock held. */
static bool wait_ms(unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000u);
    ts.tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!W.stopping) {
        if (pthread_cond_timedwait(&W.cond, &W.lock, &ts) != 0) {
            break;
        }
    }
    return W.stopping;
}

static unsigned backoff_ms(unsigned attempt)
{
    unsigned base = W.base_ms;
    for (unsigned i = 1; i < attempt && base < AT_WEBHOOK_BACKOFF_MAX_MS; i++) {
        base *= 2;
    }
    if (base > AT_WEBHOOK_BACKOFF_MAX_MS) {
        base = AT_WEBHOOK_BACKOFF_MAX_MS;
    }
    uint32_t r = 0;
    if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1) {
        r = (uint32_t)rand();
    }
    return base + (base / 2 > 0 ? r % (base / 2) : 0); /* + up to 50% jitter */
}

static void deliver(char *body)
{
    char errbuf[CURL_ERROR_SIZE];
    for (unsigned attempt = 1; attempt <= AT_WEBHOOK_ATTEMPTS; attempt++) {
        long status = 0;
        int rc = post_once(body, &status, errbuf);
        if (rc == 0) {
            at_metrics_webhook_outcome("delivered");
            return;
        }
        if (rc < 0 || attempt == AT_WEBHOOK_ATTEMPTS) {
            break;
        }
        at_metrics_webhook_outcome("retry");
        unsigned ms = backoff_ms(attempt);
        at_log(AT_LOG_WARN, "alert webhook: attempt %u failed (status %ld%s%s); retrying in %u ms",
               attempt, status, errbuf[0] != '\0' ? ", " : "", errbuf, ms);
        pthread_mutex_lock(&W.lock);
        bool stop = wait_ms(ms);
        pthread_mutex_unlock(&W.lock);
        if (stop) {
            snprintf(errbuf, sizeof(errbuf), "shutting down");
            break;
        }
    }
    at_metrics_webhook_outcome("gave_up");
    at_log(AT_LOG_ERROR, "alert webhook: gave up on an alert (%s)",
           errbuf[0] != '\0' ? errbuf : "non-retryable status");
}

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&W.lock);
    for (;;) {
        while (W.count == 0 && !W.stopping) {
            pthread_cond_wait(&W.cond, &W.lock);
        }
        if (W.count == 0) {
            break; /* stopping with nothing left */
        }
        char *body = W.queue[W.head];
        W.queue[W.head] = NULL;
        W.head = (W.head + 1) % QUEUE_CAP;
        W.count--;
        bool stopping = W.stopping;
        pthread_mutex_unlock(&W.lock);
        if (stopping) {
            /* Shutting down: one last attempt each, no backoff. */
            char errbuf[CURL_ERROR_SIZE];
            long status;
            at_metrics_webhook_outcome(post_once(body, &status, errbuf) == 0 ? "delivered"
                                                                             : "gave_up");
        } else {
            deliver(body);
        }
        free(body);
        pthread_mutex_lock(&W.lock);
    }
    pthread_mutex_unlock(&W.lock);
    return NULL;
}

static void clear_config(void)
{
    free(W.url);
    free(W.ca);
    if (W.token != NULL) {
        at_free_secret(W.token, W.token_len + 1);
    }
    W.url = W.ca = W.token = NULL;
    W.token_len = 0;
}

at_status at_webhook_start(const char *url, const char *ca_file, const char *token_file,
                           unsigned backoff_base_ms, struct at_err *e)
{
    AT_ENSURE(!W.running, e, AT_E_BAD_VALUE, "webhook_running", "the webhook is already running");
    AT_ENSURE(url != NULL && strncmp(url, "https://", 8) == 0, e, AT_E_BAD_VALUE, "webhook_url",
              "alert_webhook_url must be an https:// URL");
    AT_ENSURE(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK, e, AT_E_IO, "webhook_curl",
              "cannot initialise libcurl");
    if (ca_file != NULL) {
        AT_ENSURE(access(ca_file, R_OK) == 0, e, AT_E_IO, "webhook_ca",
                  "alert_webhook_ca: cannot read %s", ca_file);
    }
    W.url = strdup(url);
    W.ca = ca_file != NULL ? strdup(ca_file) : NULL;
    if (W.url == NULL || (ca_file != NULL && W.ca == NULL)) {
        clear_config();
        AT_FAIL(e, AT_E_NOMEM, "webhook_oom", "out of memory");
    }
    if (token_file != NULL) {
        uint8_t *buf = NULL;
        size_t len = 0;
        at_status s = at_file_read(token_file, 8192, &buf, &len, e);
        if (!at_is_ok(s)) {
            clear_config();
            at_err_context(e, "alert_webhook_token_file");
            return s;
        }
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ')) {
            len--;
        }
        bool printable = len > 0;
        for (size_t i = 0; i < len; i++) {
            printable &= buf[i] > 0x20 && buf[i] < 0x7f;
        }
        if (!printable) {
            at_free_secret(buf, len);
            clear_config();
            AT_FAIL(e, AT_E_BAD_VALUE, "webhook_token",
                    "alert_webhook_token_file: expected one token of printable ASCII");
        }
        W.token = malloc(len + 1);
        if (W.token == NULL) {
            at_free_secret(buf, len);
            clear_config();
            AT_FAIL(e, AT_E_NOMEM, "webhook_oom", "out of memory");
        }
        memcpy(W.token, buf, len);
        W.token[len] = '\0';
        W.token_len = len;
        at_free_secret(buf, len);
    }
    W.base_ms = backoff_base_ms > 0 ? backoff_base_ms : AT_WEBHOOK_BACKOFF_BASE_MS;
    W.stopping = false;
    W.head = W.count = 0;
    if (pthread_create(&W.thread, NULL, worker, NULL) != 0) {
        clear_config();
        AT_FAIL(e, AT_E_IO, "webhook_thread", "cannot start the webhook thread");
    }
    W.running = true;
    return at_ok();
}

bool at_webhook_post(const char *json)
{
    if (json == NULL) {
        return false;
    }
    pthread_mutex_lock(&W.lock);
    bool ok = W.running && !W.stopping && W.count < QUEUE_CAP;
    if (ok) {
        char *copy = strdup(json);
        ok = copy != NULL;
        if (ok) {
            W.queue[(W.head + W.count) % QUEUE_CAP] = copy;
            W.count++;
            pthread_cond_broadcast(&W.cond);
        }
    }
    bool running = W.running;
    pthread_mutex_unlock(&W.lock);
    if (!ok && running) {
        at_metrics_webhook_outcome("dropped");
        at_log(AT_LOG_ERROR, "alert webhook: queue full (%u alerts); alert dropped", QUEUE_CAP);
    }
    return ok;
}

void at_webhook_stop(void)
{
    pthread_mutex_lock(&W.lock);
    if (!W.running) {
        pthread_mutex_unlock(&W.lock);
        return;
    }
    W.stopping = true;
    pthread_cond_broadcast(&W.cond);
    pthread_mutex_unlock(&W.lock);
    pthread_join(W.thread, NULL);
    pthread_mutex_lock(&W.lock);
    W.running = false;
    clear_config();
    pthread_mutex_unlock(&W.lock);
}
