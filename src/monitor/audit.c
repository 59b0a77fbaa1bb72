/*
 * The audit trail (audit.h, docs/audit-log.md): record formatting, observers, the
 * legacy stderr line, and the chained sinks (file, syslog) behind one writer thread.
 *
 * Canonical chained line (ASCII, compact JSON, members in this order, absent ones
 * omitted, then "\n"):
 *   {"seq":N,"prev":"<64 hex>","time":"RFC3339","kind":"...","principal":...,
 *    "provider","operation","target","result","policy_hash_before","policy_hash_after",
 *    "request_id","source","attestation_type","evidence_sha256","jti","detail","policy_hash"}
 * Emitting threads format everything after "prev" (in parallel); the writer prefixes
 * seq and prev in order, so the chain is assigned in queue order.
 */
#include "monitor/audit.h"

#include "base/log.h"
#include "base/timeutil.h"
#include "monitor/audit_chain.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static struct {
    at_audit_observer fn;
    void *ctx;
} observers[AT_AUDIT_OBSERVERS_MAX];
static unsigned n_observers;
static _Thread_local bool in_observer;
static _Thread_local char ctx_request_id[64];
static _Thread_local char ctx_source[64];

const char *at_audit_kind_name(enum at_audit_kind k)
{
    switch (k) {
    case AT_AUDIT_MANAGEMENT:
        return "management";
    case AT_AUDIT_UNAUTHENTICATED:
        return "unauthenticated";
    case AT_AUDIT_FORBIDDEN:
        return "forbidden";
    case AT_AUDIT_ATTESTATION:
        return "attestation";
    case AT_AUDIT_ALERT:
        return "alert";
    case AT_AUDIT_BACKUP:
        return "backup";
    case AT_AUDIT_SYSTEM:
        return "system";
    }
    return "system";
}

bool at_audit_observe(at_audit_observer fn, void *ctx)
{
    if (fn == NULL || n_observers >= AT_AUDIT_OBSERVERS_MAX) {
        return false;
    }
    observers[n_observers].fn = fn;
    observers[n_observers].ctx = ctx;
    n_observers++;
    return true;
}

static void ctx_copy(char *dst, size_t cap, const char *src)
{
    dst[0] = '\0';
    if (src != NULL) {
        snprintf(dst, cap, "%s", src);
    }
}

void at_audit_context_set(const char *request_id, const char *source)
{
    ctx_copy(ctx_request_id, sizeof(ctx_request_id), request_id);
    ctx_copy(ctx_source, sizeof(ctx_source), source);
}

/* ---- formatting ---- */

static void put(json_t *o, const char *k, const char *v)
{
    if (v == NULL) {
        return;
    }
    /* json_string refuses invalid UTF-8: such a value is recorded as null. */
    json_t *s = json_string(v);
    json_object_set_new(o, k, s != NULL ? s : json_null());
}

/* The record as JSON text: legacy {"audit":KIND,"time",...} or chained body {"time","kind",...}. */
static char *format(const struct at_audit_rec *r, bool legacy)
{
    char when[32];
    at_time_format(at_time_now(), when, sizeof(when));
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    if (legacy) {
        put(o, "audit", at_audit_kind_name(r->kind));
        put(o, "time", when);
    } else {
        put(o, "time", when);
        put(o, "kind", at_audit_kind_name(r->kind));
    }
    put(o, "principal", r->principal);
    put(o, "provider", r->provider);
    put(o, "operation", r->operation);
    put(o, "target", r->target);
    put(o, "result", r->result);
    put(o, "policy_hash_before", r->policy_hash_before);
    put(o, "policy_hash_after", r->policy_hash_after);
    put(o, "request_id", r->request_id);
    put(o, "source", r->source);
    put(o, "attestation_type", r->attestation_type);
    put(o, "evidence_sha256", r->evidence_sha256);
    put(o, "jti", r->jti);
    put(o, "detail", r->detail);
    put(o, "policy_hash", r->policy_hash);
    /* ASCII only: no raw control or non-ASCII bytes reach the file or syslog. */
    char *text = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    return text;
}

static void write_stderr_line(const struct at_audit_rec *r)
{
    char *line = format(r, true);
    if (line == NULL) {
        return;
    }
    size_t n = strlen(line);
    char *buf = realloc(line, n + 2);
    if (buf != NULL) {
        line = buf;
        line[n++] = '\n';
        line[n] = '\0';
    }
    /* One write per record so lines from worker threads never interleave. */
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
    free(line);
}

/* ---- the writer ---- */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t nonempty, nonfull;
    char *q[AT_AUDIT_QUEUE_MAX]; /* chained bodies, oldest at q[first] */
    size_t first, count;
    bool running, stop, reopen;
    pthread_t thr;
    /* writer-owned after start */
    char *path;
    int fd;
    enum at_audit_fsync fsync;
    bool syslog;
    struct at_store *store;
    uint64_t seq; /* last record written */
    char hash[AT_AUDIT_HASH_HEX];
    uint64_t head_seq; /* last head stored */
    bool dirty;        /* written since the last fdatasync */
    int64_t last_sync_ms;
} W = {.mu = PTHREAD_MUTEX_INITIALIZER,
       .nonempty = PTHREAD_COND_INITIALIZER,
       .nonfull = PTHREAD_COND_INITIALIZER,
       .fd = -1};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return false;
        }
        p += (size_t)w;
        n -= (size_t)w;
    }
    return true;
}

/* Store the chain head (after the data it names is as durable as audit_fsync says). */
static void store_head(void)
{
    if (W.store == NULL || W.fd < 0 || W.seq == W.head_seq) {
        return;
    }
    uint8_t raw[32];
    struct at_err e;
    at_err_init(&e);
    if (!at_audit_hash_raw(W.hash, raw) ||
        !at_is_ok(
            at_store_audit_head_set(W.store, AT_AUDIT_CHAIN, W.seq, raw, at_time_now(), &e))) {
        at_log(AT_LOG_ERROR, "audit: cannot store the chain head (seq %llu): %s",
               (unsigned long long)W.seq, e.msg);
        return;
    }
    W.head_seq = W.seq;
}

static void sync_now(void)
{
    if (W.fd >= 0 && W.dirty) {
        if (fdatasync(W.fd) != 0) {
            at_log(AT_LOG_ERROR, "audit: fdatasync %s: %s", W.path, strerror(errno));
            return; /* the head stays behind what is not known durable */
        }
        W.dirty = false;
        W.last_sync_ms = mono_ms();
    }
    store_head();
}

/*
 * How long written records may wait for their fdatasync: `always` coalesces the batches
 * of a few milliseconds into one sync and one head commit (under load a sync per batch
 * was a sync per request or two, and the kernel's fsync work took a core's share from
 * the requests); `interval` waits up to a second.
 */
static int64_t sync_period_ms(void)
{
    return W.fsync == AT_AUDIT_FSYNC_INTERVAL ? (int64_t)AT_AUDIT_FSYNC_INTERVAL_MS
                                              : (int64_t)AT_AUDIT_GROUP_COMMIT_MS;
}

/*
 * Chain and write a batch of bodies. The chain state advances only once the bytes are
 * written; a failing write is retried (auditing is mandatory: the queue fills and the
 * emitting threads wait) until it succeeds or, while stopping, for 5 s.
 */
static void write_batch(char **bodies, size_t n)
{
    size_t cap = 0;
    for (size_t i = 0; i < n; i++) {
        cap += strlen(bodies[i]) + 100;
    }
    char *buf = malloc(cap);
    size_t *ends = malloc(n * sizeof(*ends));
    if (buf == NULL || ends == NULL) {
        at_log(AT_LOG_ERROR, "audit: out of memory: %zu record(s) lost", n);
        free(buf);
        free(ends);
        return;
    }
    uint64_t seq = W.seq;
    char hash[AT_AUDIT_HASH_HEX];
    memcpy(hash, W.hash, sizeof(hash));
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t start = len;
        int k = snprintf(buf + len, cap - len, "{\"seq\":%llu,\"prev\":\"%s\",%s",
                         (unsigned long long)(seq + 1), hash, bodies[i] + 1);
        if (k < 0 || (size_t)k >= cap - len || !at_audit_line_hash(buf + start, (size_t)k, hash)) {
            at_log(AT_LOG_ERROR, "audit: cannot format a record: %zu record(s) lost", n - i);
            n = i;
            break;
        }
        seq++;
        len += (size_t)k;
        buf[len++] = '\n';
        ends[i] = len;
    }
    if (W.fd >= 0) {
        unsigned tries = 0;
        int64_t t0 = mono_ms();
        while (!write_all(W.fd, buf, len)) {
            int err = errno;
            if (tries++ % 50 == 0) {
                at_log(AT_LOG_ERROR,
                       "audit: write %s: %s (retrying; requests wait for the audit log)", W.path,
                       strerror(err));
            }
            pthread_mutex_lock(&W.mu);
            bool stopping = W.stop;
            pthread_mutex_unlock(&W.mu);
            if (stopping && mono_ms() - t0 > 5000) {
                at_log(AT_LOG_ERROR, "audit: %zu audit record(s) lost at shutdown", n);
                free(buf);
                free(ends);
                return;
            }
            usleep(200000);
        }
        W.dirty = true;
    }
    W.seq = seq;
    memcpy(W.hash, hash, sizeof(hash));
    if (W.syslog) {
        size_t s = 0;
        for (size_t i = 0; i < n; i++) {
            syslog(LOG_AUTHPRIV | LOG_INFO, "%.*s", (int)(ends[i] - 1 - s), buf + s);
            s = ends[i];
        }
    }
    free(buf);
    free(ends);
    if (W.fsync != AT_AUDIT_FSYNC_NEVER && mono_ms() - W.last_sync_ms >= sync_period_ms()) {
        sync_now();
    } else if (W.fsync == AT_AUDIT_FSYNC_NEVER) {
        W.dirty = false;
        store_head();
    }
}

/* A record the writer makes itself (file start after a reopen), written at once. */
static void write_own(const char *operation, const char *detail)
{
    struct at_audit_rec r = {
        .kind = AT_AUDIT_SYSTEM, .operation = operation, .result = "ok", .detail = detail};
    char *body = format(&r, false);
    if (body != NULL) {
        write_batch(&body, 1);
        free(body);
    }
}

static bool open_file(void)
{
    W.fd = open(W.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (W.fd < 0) {
        return false;
    }
    if (fchmod(W.fd, 0600) != 0) {
        at_log(AT_LOG_WARN, "audit: cannot set mode 0600 on %s: %s", W.path, strerror(errno));
    }
    return true;
}

static void do_reopen(void)
{
    if (W.path == NULL) {
        return;
    }
    sync_now();
    if (W.fd >= 0) {
        close(W.fd);
        W.fd = -1;
    }
    if (!open_file()) {
        at_log(AT_LOG_ERROR, "audit: cannot reopen %s: %s", W.path, strerror(errno));
        return;
    }
    struct stat sb;
    if (fstat(W.fd, &sb) == 0 && sb.st_size == 0 && W.seq > 0) {
        char detail[96];
        snprintf(detail, sizeof(detail), "new file after reopen; previous record seq %llu",
                 (unsigned long long)W.seq);
        write_own("audit.continue", detail);
        sync_now();
    }
}

#define BATCH_MAX 256u

static void *writer_main(void *arg)
{
    (void)arg;
    char *batch[BATCH_MAX];
    pthread_mutex_lock(&W.mu);
    for (;;) {
        while (W.count == 0 && !W.stop && !W.reopen) {
            if (W.dirty && W.fsync != AT_AUDIT_FSYNC_NEVER) {
                /* Sync what a period left pending when the period is over. */
                int64_t left = W.last_sync_ms + sync_period_ms() - mono_ms();
                if (left <= 0) {
                    pthread_mutex_unlock(&W.mu);
                    sync_now();
                    pthread_mutex_lock(&W.mu);
                    continue;
                }
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_sec += (time_t)(left / 1000);
                until.tv_nsec += (long)(left % 1000) * 1000000L;
                if (until.tv_nsec >= 1000000000L) {
                    until.tv_sec++;
                    until.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&W.nonempty, &W.mu, &until);
                continue;
            }
            pthread_cond_wait(&W.nonempty, &W.mu);
        }
        if (W.reopen) {
            W.reopen = false;
            pthread_mutex_unlock(&W.mu);
            do_reopen();
            pthread_mutex_lock(&W.mu);
            continue;
        }
        if (W.count == 0 && W.stop) {
            break;
        }
        size_t n = 0;
        while (W.count > 0 && n < BATCH_MAX) {
            batch[n++] = W.q[W.first];
            W.first = (W.first + 1) % AT_AUDIT_QUEUE_MAX;
            W.count--;
        }
        pthread_cond_broadcast(&W.nonfull);
        pthread_mutex_unlock(&W.mu);
        write_batch(batch, n);
        for (size_t i = 0; i < n; i++) {
            free(batch[i]);
        }
        pthread_mutex_lock(&W.mu);
    }
    pthread_mutex_unlock(&W.mu);
    sync_now();
    return NULL;
}

/* Queue a chained body; waits while the queue is full. False when the writer is gone. */
static bool enqueue(char *body)
{
    pthread_mutex_lock(&W.mu);
    while (W.running && W.count == AT_AUDIT_QUEUE_MAX) {
        pthread_cond_wait(&W.nonfull, &W.mu);
    }
    if (!W.running) {
        pthread_mutex_unlock(&W.mu);
        return false;
    }
    W.q[(W.first + W.count) % AT_AUDIT_QUEUE_MAX] = body;
    W.count++;
    pthread_cond_signal(&W.nonempty);
    pthread_mutex_unlock(&W.mu);
    return true;
}

void at_audit_emit(const struct at_audit_rec *r)
{
    if (r == NULL) {
        return;
    }
    struct at_audit_rec rec = *r;
    if (rec.request_id == NULL && ctx_request_id[0] != '\0') {
        rec.request_id = ctx_request_id;
    }
    if (rec.source == NULL && ctx_source[0] != '\0') {
        rec.source = ctx_source;
    }
    pthread_mutex_lock(&W.mu);
    bool chained = W.running;
    pthread_mutex_unlock(&W.mu);
    char *body = chained ? format(&rec, false) : NULL;
    if (body == NULL || !enqueue(body)) {
        free(body);
        write_stderr_line(&rec);
    }
    if (in_observer) {
        return;
    }
    in_observer = true;
    for (unsigned i = 0; i < n_observers; i++) {
        observers[i].fn(&rec, observers[i].ctx);
    }
    in_observer = false;
}

/* ---- start-up: where does the chain continue? ---- */

struct start_state {
    uint64_t seq;
    char hash[AT_AUDIT_HASH_HEX];
    bool file_empty;
    bool torn;        /* the file does not end with a newline */
    char breaks[400]; /* "" when the file ends at the stored head */
};

static void decide_start(const struct at_audit_config *c, struct start_state *st, struct at_err *e)
{
    memset(st, 0, sizeof(*st));
    memcpy(st->hash, AT_AUDIT_ZERO_HASH, sizeof(st->hash));
    uint64_t head_seq = 0;
    char head_hash[AT_AUDIT_HASH_HEX] = "";
    bool have_head = false;
    if (c->store != NULL) {
        uint8_t raw[32];
        struct at_err he;
        at_err_init(&he);
        at_status s = at_store_audit_head_get(c->store, AT_AUDIT_CHAIN, &head_seq, raw, &he);
        if (at_is_ok(s)) {
            have_head = true;
            at_audit_hash_hex(raw, head_hash);
        } else if (s.code != AT_E_NOT_FOUND) {
            snprintf(st->breaks, sizeof(st->breaks), "cannot read the stored chain head: %s",
                     he.msg);
        }
    }
    struct at_audit_tail t;
    if (!at_is_ok(
            at_audit_tail_read(c->file, AT_AUDIT_TAIL_WINDOW, have_head ? head_seq : 0, &t, e))) {
        snprintf(st->breaks, sizeof(st->breaks), "cannot read the audit file: %s", e->msg);
        at_err_init(e);
        return;
    }
    st->file_empty = !t.exists || t.size == 0;
    if (st->file_empty) {
        /* A new file (first start, or rotated while stopped): continue from the head. */
        if (have_head) {
            st->seq = head_seq;
            memcpy(st->hash, head_hash, sizeof(st->hash));
        }
        return;
    }
    st->torn = !t.ends_with_newline;
    if (t.last_ok) {
        st->seq = t.last_seq;
        memcpy(st->hash, t.last_hash, sizeof(st->hash));
    } else if (have_head) {
        st->seq = head_seq;
        memcpy(st->hash, head_hash, sizeof(st->hash));
    }
    if (st->breaks[0] != '\0') {
        return;
    }
    if (st->torn) {
        snprintf(st->breaks, sizeof(st->breaks),
                 "the audit file ends with a partial record (torn write)");
    } else if (t.v.failed) {
        snprintf(st->breaks, sizeof(st->breaks), "the end of the audit file does not verify: %s",
                 t.v.reason);
    } else if (!have_head) {
        snprintf(st->breaks, sizeof(st->breaks),
                 "the audit file has records but the store holds no chain head");
    } else if (t.v.last_seq < head_seq) {
        snprintf(st->breaks, sizeof(st->breaks),
                 "the audit file ends at seq %llu but the stored chain head is seq %llu "
                 "(records removed from the end)",
                 (unsigned long long)t.v.last_seq, (unsigned long long)head_seq);
    } else if (!t.v.want_found || strcmp(t.v.want_hash, head_hash) != 0) {
        snprintf(st->breaks, sizeof(st->breaks),
                 "the stored chain head (seq %llu) does not match the audit file",
                 (unsigned long long)head_seq);
    }
}

at_status at_audit_start(const struct at_audit_config *c, struct at_err *e)
{
    AT_ENSURE(c != NULL, e, AT_E_USAGE, "audit", "no audit configuration");
    if (c->file == NULL && !c->syslog) {
        return at_ok();
    }
    AT_ENSURE(!W.running, e, AT_E_USAGE, "audit", "the audit writer is already running");
    W.fsync = c->fsync;
    W.syslog = c->syslog;
    W.store = c->store;
    W.seq = 0;
    memcpy(W.hash, AT_AUDIT_ZERO_HASH, sizeof(W.hash));
    struct start_state st;
    memset(&st, 0, sizeof(st));
    if (c->file != NULL) {
        W.path = strdup(c->file);
        AT_ENSURE(W.path != NULL, e, AT_E_NOMEM, NULL, "out of memory");
        decide_start(c, &st, e);
        if (!open_file()) {
            int err = errno;
            free(W.path);
            W.path = NULL;
            AT_FAIL(e, AT_E_IO, "audit_file", "cannot open audit_file %s: %s", c->file,
                    strerror(err));
        }
        if (st.torn && !write_all(W.fd, "\n", 1)) {
            at_log(AT_LOG_ERROR, "audit: cannot terminate the torn record in %s", W.path);
        }
        W.seq = st.seq;
        memcpy(W.hash, st.hash, sizeof(W.hash));
        W.head_seq = 0; /* the first batch stores the head */
    }
    if (c->syslog) {
        openlog("attestd-audit", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
    }
    W.last_sync_ms = mono_ms();
    W.stop = false;
    W.reopen = false;
    W.running = true;
    /* The writer takes no signals: the daemon's main thread waits for them (sigwait). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&W.thr, NULL, writer_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        W.running = false;
        if (W.fd >= 0) {
            close(W.fd);
            W.fd = -1;
        }
        free(W.path);
        W.path = NULL;
        AT_FAIL(e, AT_E_INTERNAL, "audit", "cannot start the audit writer thread");
    }
    if (st.breaks[0] != '\0') {
        at_log(AT_LOG_ERROR, "audit: chain break: %s (recorded as audit.chain_break; continuing)",
               st.breaks);
        at_audit_emit(&(struct at_audit_rec){.kind = AT_AUDIT_SYSTEM,
                                             .operation = "audit.chain_break",
                                             .result = "error",
                                             .detail = st.breaks});
    } else if (c->file != NULL && st.file_empty && st.seq > 0) {
        char detail[96];
        snprintf(detail, sizeof(detail), "new file; previous record seq %llu",
                 (unsigned long long)st.seq);
        at_audit_emit(&(struct at_audit_rec){.kind = AT_AUDIT_SYSTEM,
                                             .operation = "audit.continue",
                                             .result = "ok",
                                             .detail = detail});
    }
    at_audit_emit(&(struct at_audit_rec){
        .kind = AT_AUDIT_SYSTEM, .operation = "start", .result = "ok", .detail = ATTESTD_VERSION});
    return at_ok();
}

void at_audit_reopen(void)
{
    pthread_mutex_lock(&W.mu);
    if (W.running) {
        W.reopen = true;
        pthread_cond_signal(&W.nonempty);
    }
    pthread_mutex_unlock(&W.mu);
}

void at_audit_stop(void)
{
    pthread_mutex_lock(&W.mu);
    bool running = W.running;
    pthread_mutex_unlock(&W.mu);
    if (!running) {
        return;
    }
    at_audit_emit(
        &(struct at_audit_rec){.kind = AT_AUDIT_SYSTEM, .operation = "stop", .result = "ok"});
    pthread_mutex_lock(&W.mu);
    W.stop = true;
    pthread_cond_signal(&W.nonempty);
    pthread_mutex_unlock(&W.mu);
    pthread_join(W.thr, NULL);
    pthread_mutex_lock(&W.mu);
    W.running = false;
    pthread_cond_broadcast(&W.nonfull);
    pthread_mutex_unlock(&W.mu);
    if (W.fd >= 0) {
        close(W.fd);
        W.fd = -1;
    }
    if (W.syslog) {
        closelog();
    }
    free(W.path);
    W.path = NULL;
    W.store = NULL;
}

static enum at_audit_kind kind_of(const char *kind)
{
    if (kind != NULL && strcmp(kind, "unauthenticated") == 0) {
        return AT_AUDIT_UNAUTHENTICATED;
    }
    if (kind != NULL && strcmp(kind, "forbidden") == 0) {
        return AT_AUDIT_FORBIDDEN;
    }
    return AT_AUDIT_MANAGEMENT;
}

void at_audit_event(const char *kind, const char *principal, const char *provider,
                    const char *operation, const char *result, const char *request_id)
{
    struct at_audit_rec r = {
        .kind = kind_of(kind),
        .principal = principal,
        .provider = provider,
        .operation = operation,
        .result = result,
        .request_id = request_id,
    };
    at_audit_emit(&r);
}
