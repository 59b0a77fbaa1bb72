/* The metrics registry and Prometheus text exposition 0.0.4 (metrics.h). */
#include "monitor/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct series {
    char *values[AT_METRICS_LABELS_MAX];
    uint64_t hash;
    _Atomic uint64_t value;    /* counter: count; gauge: double bits; histogram: count */
    _Atomic uint64_t sum_bits; /* histogram: double bits of the sum */
    _Atomic uint64_t *buckets; /* histogram: nbounds + 1 (non-cumulative) */
};

struct at_metric {
    enum at_metric_type type;
    const char *name;
    const char *help;
    unsigned nlabels;
    const char *label_names[AT_METRICS_LABELS_MAX];
    unsigned max_series;
    double bounds[AT_METRICS_BUCKETS_MAX];
    unsigned nbounds;
    pthread_rwlock_t lock;
    struct series **series; /* n in insertion order; the overflow series is among them */
    unsigned n;
    uint32_t *index; /* open addressing: series position + 1, 0 = empty */
    unsigned index_cap;
    struct series *overflow;
    struct at_metric *next;
};

struct at_metrics_registry {
    struct at_metric *first, *last;
    pthread_mutex_t hooks_lock;
    struct {
        at_metrics_hook fn;
        void *ctx;
    } hooks[8];
    unsigned n_hooks;
};

static uint64_t dbits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return u;
}

static double bitsd(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

struct at_metrics_registry *at_metrics_registry_new(void)
{
    struct at_metrics_registry *r = calloc(1, sizeof(*r));
    if (r != NULL && pthread_mutex_init(&r->hooks_lock, NULL) != 0) {
        free(r);
        return NULL;
    }
    return r;
}

static void series_free(struct series *s)
{
    if (s == NULL) {
        return;
    }
    for (unsigned i = 0; i < AT_METRICS_LABELS_MAX; i++) {
        free(s->values[i]);
    }
    free((void *)(uintptr_t)s->buckets);
    free(s);
}

static void family_drop_series(struct at_metric *m)
{
    for (unsigned i = 0; i < m->n; i++) {
        series_free(m->series[i]);
        m->series[i] = NULL;
    }
    m->n = 0;
    m->overflow = NULL;
    memset(m->index, 0, m->index_cap * sizeof(m->index[0]));
}

void at_metrics_registry_free(struct at_metrics_registry *r)
{
    if (r == NULL) {
        return;
    }
    struct at_metric *m = r->first;
    while (m != NULL) {
        struct at_metric *next = m->next;
        family_drop_series(m);
        free(m->series);
        free(m->index);
        pthread_rwlock_destroy(&m->lock);
        free(m);
        m = next;
    }
    pthread_mutex_destroy(&r->hooks_lock);
    free(r);
}

struct at_metric *at_metric_define(struct at_metrics_registry *r, enum at_metric_type type,
                                   const char *name, const char *help, unsigned nlabels,
                                   const char *const *label_names, unsigned max_series,
                                   const double *bounds, unsigned nbounds)
{
    if (r == NULL || name == NULL || help == NULL || nlabels > AT_METRICS_LABELS_MAX ||
        max_series < 2 || max_series > 65536 || nbounds > AT_METRICS_BUCKETS_MAX ||
        (type == AT_METRIC_HISTOGRAM) != (nbounds > 0)) {
        return NULL;
    }
    for (unsigned i = 1; i < nbounds; i++) {
        if (!(bounds[i] > bounds[i - 1]) || !isfinite(bounds[i])) {
            return NULL;
        }
    }
    struct at_metric *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    m->type = type;
    m->name = name;
    m->help = help;
    m->nlabels = nlabels;
    for (unsigned i = 0; i < nlabels; i++) {
        m->label_names[i] = label_names[i];
    }
    m->max_series = max_series;
    for (unsigned i = 0; i < nbounds; i++) {
        m->bounds[i] = bounds[i];
    }
    m->nbounds = nbounds;
    m->index_cap = 4;
    while (m->index_cap < 2 * max_series) {
        m->index_cap *= 2;
    }
    m->series = calloc(max_series, sizeof(m->series[0]));
    m->index = calloc(m->index_cap, sizeof(m->index[0]));
    if (m->series == NULL || m->index == NULL || pthread_rwlock_init(&m->lock, NULL) != 0) {
        free(m->series);
        free(m->index);
        free(m);
        return NULL;
    }
    if (r->last != NULL) {
        r->last->next = m;
    } else {
        r->first = m;
    }
    r->last = m;
    return m;
}

/* Label values as stored: at most AT_METRICS_LABEL_MAX bytes of printable ASCII. */
static size_t clean_len(const char *v)
{
    size_t n = v != NULL ? strlen(v) : 0;
    return n > AT_METRICS_LABEL_MAX ? AT_METRICS_LABEL_MAX : n;
}

static char clean_ch(char c)
{
    unsigned char u = (unsigned char)c;
    return (u >= 0x20 && u < 0x7f) || u == '\n' ? c : '?';
}

static uint64_t hash_values(const struct at_metric *m, const char *const *values)
{
    uint64_t h = 1469598103934665603u;
    for (unsigned i = 0; i < m->nlabels; i++) {
        const char *v = values[i];
        size_t n = clean_len(v);
        for (size_t j = 0; j < n; j++) {
            h = (h ^ (unsigned char)clean_ch(v[j])) * 1099511628211u;
        }
        h = (h ^ 0xffu) * 1099511628211u;
    }
    return h;
}

static bool same(const struct at_metric *m, const struct series *s, const char *const *values)
{
    for (unsigned i = 0; i < m->nlabels; i++) {
        const char *v = values[i];
        size_t n = clean_len(v);
        if (strlen(s->values[i]) != n) {
            return false;
        }
        for (size_t j = 0; j < n; j++) {
            if (s->values[i][j] != clean_ch(v[j])) {
                return false;
            }
        }
    }
    return true;
}

static struct series *probe(const struct at_metric *m, const char *const *values, uint64_t h,
                            unsigned *slot)
{
    unsigned mask = m->index_cap - 1;
    unsigned i = (unsigned)h & mask;
    for (;;) {
        uint32_t pos = m->index[i];
        if (pos == 0) {
            *slot = i;
            return NULL;
        }
        struct series *s = m->series[pos - 1];
        if (s->hash == h && same(m, s, values)) {
            return s;
        }
        i = (i + 1) & mask;
    }
}

static struct series *series_new(const struct at_metric *m, const char *const *values, uint64_t h,
                                 bool overflow)
{
    struct series *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    s->hash = h;
    for (unsigned i = 0; i < m->nlabels; i++) {
        const char *v = overflow ? AT_METRICS_OVERFLOW : values[i];
        size_t n = clean_len(v);
        s->values[i] = malloc(n + 1);
        if (s->values[i] == NULL) {
            series_free(s);
            return NULL;
        }
        for (size_t j = 0; j < n; j++) {
            s->values[i][j] = clean_ch(v[j]);
        }
        s->values[i][n] = '\0';
    }
    if (m->type == AT_METRIC_HISTOGRAM) {
        s->buckets = calloc(m->nbounds + 1, sizeof(s->buckets[0]));
        if (s->buckets == NULL) {
            series_free(s);
            return NULL;
        }
    }
    return s;
}

/* Insert under the write lock; the overflow series once the family is full. */
static struct series *insert(struct at_metric *m, const char *const *values, uint64_t h)
{
    unsigned slot;
    struct series *s = probe(m, values, h, &slot);
    if (s != NULL) {
        return s;
    }
    if (m->n + 1 >= m->max_series) {
        if (m->overflow == NULL) {
            m->overflow = series_new(m, values, 0, true);
            if (m->overflow != NULL) {
                m->series[m->n++] = m->overflow; /* not indexed: found through m->overflow */
            }
        }
        return m->overflow;
    }
    s = series_new(m, values, h, false);
    if (s == NULL) {
        return NULL;
    }
    m->series[m->n++] = s;
    m->index[slot] = m->n;
    return s;
}

typedef void (*series_op)(const struct at_metric *m, struct series *s, uint64_t n, double v);

static void apply(struct at_metric *m, const char *const *values, series_op op, uint64_t n,
                  double v)
{
    static const char *const none[AT_METRICS_LABELS_MAX] = {0};
    if (m == NULL) {
        return;
    }
    if (values == NULL) {
        values = none;
    }
    uint64_t h = hash_values(m, values);
    unsigned slot;
    pthread_rwlock_rdlock(&m->lock);
    struct series *s = probe(m, values, h, &slot);
    if (s == NULL && m->overflow != NULL && m->n + 1 >= m->max_series) {
        s = m->overflow;
    }
    if (s != NULL) {
        op(m, s, n, v);
        pthread_rwlock_unlock(&m->lock);
        return;
    }
    pthread_rwlock_unlock(&m->lock);
    pthread_rwlock_wrlock(&m->lock);
    s = insert(m, values, h);
    if (s != NULL) {
        op(m, s, n, v);
    }
    pthread_rwlock_unlock(&m->lock);
}

static void op_add(const struct at_metric *m, struct series *s, uint64_t n, double v)
{
    (void)m;
    (void)v;
    atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
}

static void op_set(const struct at_metric *m, struct series *s, uint64_t n, double v)
{
    (void)m;
    (void)n;
    atomic_store_explicit(&s->value, dbits(v), memory_order_relaxed);
}

static void op_observe(const struct at_metric *m, struct series *s, uint64_t n, double v)
{
    (void)n;
    unsigned b = 0;
    while (b < m->nbounds && v > m->bounds[b]) {
        b++;
    }
    atomic_fetch_add_explicit(&s->buckets[b], 1u, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&s->sum_bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&s->sum_bits, &old, dbits(bitsd(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
    atomic_fetch_add_explicit(&s->value, 1u, memory_order_relaxed);
}

void at_metric_add(struct at_metric *m, const char *const *values, uint64_t n)
{
    if (m != NULL && m->type == AT_METRIC_COUNTER) {
        apply(m, values, op_add, n, 0);
    }
}

void at_metric_set(struct at_metric *m, const char *const *values, double v)
{
    if (m != NULL && m->type == AT_METRIC_GAUGE) {
        apply(m, values, op_set, 0, v);
    }
}

void at_metric_observe(struct at_metric *m, const char *const *values, double v)
{
    if (m != NULL && m->type == AT_METRIC_HISTOGRAM && !isnan(v)) {
        apply(m, values, op_observe, 0, v);
    }
}

void at_metric_reset(struct at_metric *m)
{
    if (m == NULL || m->type != AT_METRIC_GAUGE) {
        return;
    }
    pthread_rwlock_wrlock(&m->lock);
    family_drop_series(m);
    pthread_rwlock_unlock(&m->lock);
}

void at_metrics_on_render(struct at_metrics_registry *r, at_metrics_hook fn, void *ctx)
{
    pthread_mutex_lock(&r->hooks_lock);
    if (fn != NULL && r->n_hooks < sizeof(r->hooks) / sizeof(r->hooks[0])) {
        r->hooks[r->n_hooks].fn = fn;
        r->hooks[r->n_hooks].ctx = ctx;
        r->n_hooks++;
    }
    pthread_mutex_unlock(&r->hooks_lock);
}

/* ---- rendering ---- */

struct buf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap == 0 ? 4096 : b->cap;
        while (b->len + n + 1 > cap) {
            cap *= 2;
        }
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* HELP text escapes '\' and newline; label values also '"'. */
static void put_escaped(struct buf *b, const char *s, bool quote)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\') {
            put(b, "\\\\", 2);
        } else if (*s == '\n') {
            put(b, "\\n", 2);
        } else if (quote && *s == '"') {
            put(b, "\\\"", 2);
        } else {
            put(b, s, 1);
        }
    }
}

void at_metrics_format_double(double v, char *out, size_t cap)
{
    if (isnan(v)) {
        snprintf(out, cap, "NaN");
    } else if (isinf(v)) {
        snprintf(out, cap, v > 0 ? "+Inf" : "-Inf");
    } else {
        /* The shortest of %.15g..%.17g that reads back exactly. */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(out, cap, "%.*g", prec, v);
            if (strtod(out, NULL) == v) {
                break;
            }
        }
    }
}

/* {a="x",b="y"[,le="..."]}, or nothing when there are no labels at all. */
static void put_labels(struct buf *b, const struct at_metric *m, const struct series *s,
                       const char *le)
{
    if (m->nlabels == 0 && le == NULL) {
        return;
    }
    put(b, "{", 1);
    for (unsigned i = 0; i < m->nlabels; i++) {
        if (i > 0) {
            put(b, ",", 1);
        }
        puts_(b, m->label_names[i]);
        put(b, "=\"", 2);
        put_escaped(b, s->values[i], true);
        put(b, "\"", 1);
    }
    if (le != NULL) {
        puts_(b, m->nlabels > 0 ? ",le=\"" : "le=\"");
        puts_(b, le);
        put(b, "\"", 1);
    }
    put(b, "}", 1);
}

static void put_sample(struct buf *b, const struct at_metric *m, const struct series *s,
                       const char *suffix, const char *le, const char *value)
{
    puts_(b, m->name);
    puts_(b, suffix);
    put_labels(b, m, s, le);
    put(b, " ", 1);
    puts_(b, value);
    put(b, "\n", 1);
}

static void render_family(struct buf *b, struct at_metric *m)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    pthread_rwlock_rdlock(&m->lock);
    if (m->n == 0) {
        pthread_rwlock_unlock(&m->lock);
        return;
    }
    puts_(b, "# HELP ");
    puts_(b, m->name);
    put(b, " ", 1);
    put_escaped(b, m->help, false);
    puts_(b, "\n# TYPE ");
    puts_(b, m->name);
    put(b, " ", 1);
    puts_(b, type_names[m->type]);
    put(b, "\n", 1);
    char num[64], le[64];
    for (unsigned i = 0; i < m->n; i++) {
        struct series *s = m->series[i];
        uint64_t v = atomic_load_explicit(&s->value, memory_order_relaxed);
        if (m->type == AT_METRIC_COUNTER) {
            snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
            put_sample(b, m, s, "", NULL, num);
        } else if (m->type == AT_METRIC_GAUGE) {
            at_metrics_format_double(bitsd(v), num, sizeof(num));
            put_sample(b, m, s, "", NULL, num);
        } else {
            /* Cumulative buckets; _count is the +Inf bucket, read in the same pass. */
            uint64_t cum = 0;
            for (unsigned k = 0; k <= m->nbounds; k++) {
                cum += atomic_load_explicit(&s->buckets[k], memory_order_relaxed);
                if (k < m->nbounds) {
                    at_metrics_format_double(m->bounds[k], le, sizeof(le));
                } else {
                    snprintf(le, sizeof(le), "+Inf");
                }
                snprintf(num, sizeof(num), "%llu", (unsigned long long)cum);
                put_sample(b, m, s, "_bucket", le, num);
            }
            at_metrics_format_double(
                bitsd(atomic_load_explicit(&s->sum_bits, memory_order_relaxed)), num, sizeof(num));
            put_sample(b, m, s, "_sum", NULL, num);
            snprintf(num, sizeof(num), "%llu", (unsigned long long)cum);
            put_sample(b, m, s, "_count", NULL, num);
        }
    }
    pthread_rwlock_unlock(&m->lock);
}

char *at_metrics_render(struct at_metrics_registry *r, size_t *len)
{
    if (r == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&r->hooks_lock);
    unsigned nh = r->n_hooks;
    pthread_mutex_unlock(&r->hooks_lock);
    for (unsigned i = 0; i < nh; i++) {
        r->hooks[i].fn(r->hooks[i].ctx);
    }
    struct buf b = {0};
    put(&b, "", 0);
    for (struct at_metric *m = r->first; m != NULL; m = m->next) {
        render_family(&b, m);
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    if (len != NULL) {
        *len = b.len;
    }
    return b.p;
}
