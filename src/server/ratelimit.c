/*
 * Token buckets and failure counters in one bounded, mutex-protected table
 * (server/ratelimit.h). Keys are a tag byte plus an address or provider name.
 */
#include "server/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY_MAX 72u

struct slot {
    uint8_t key[KEY_MAX];
    uint8_t key_len; /* 0 = free */
    double touched;  /* last use (eviction) */
    double tokens;   /* bucket */
    double last;     /* bucket refill time / window start / gate time */
    uint32_t count;  /* failures in the window */
    double until;    /* cool-down end */
};

struct at_limits {
    pthread_mutex_t mu;
    struct at_rate_spec src;
    struct at_rate_spec prov;
    struct at_authfail_spec fail;
    struct slot *slots;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct at_limits *at_limits_new(const struct at_rate_spec *per_source,
                                const struct at_rate_spec *per_provider,
                                const struct at_authfail_spec *auth_fail)
{
    struct at_limits *l = calloc(1, sizeof(*l));
    if (l == NULL) {
        return NULL;
    }
    l->slots = calloc(AT_LIMITS_SLOTS, sizeof(struct slot));
    if (l->slots == NULL || pthread_mutex_init(&l->mu, NULL) != 0) {
        free(l->slots);
        free(l);
        return NULL;
    }
    l->src = *per_source;
    l->prov = *per_provider;
    l->fail = *auth_fail;
    return l;
}

void at_limits_free(struct at_limits *l)
{
    if (l == NULL) {
        return;
    }
    pthread_mutex_destroy(&l->mu);
    free(l->slots);
    free(l);
}

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}

/*
 * The slot of `key` (created fresh when absent: key set, fields zero). Called with
 * the mutex held. A full probe window evicts its least recently touched slot.
 */
static struct slot *lookup(struct at_limits *l, const uint8_t *key, size_t key_len, double now)
{
    uint32_t h = fnv1a(key, key_len);
    struct slot *victim = NULL;
    for (unsigned i = 0; i < AT_LIMITS_PROBE; i++) {
        struct slot *s = &l->slots[(h + i) % AT_LIMITS_SLOTS];
        if (s->key_len == key_len && memcmp(s->key, key, key_len) == 0) {
            s->touched = now;
            return s;
        }
        if (s->key_len == 0) {
            if (victim == NULL || victim->key_len != 0) {
                victim = s;
            }
        } else if (victim == NULL || (victim->key_len != 0 && s->touched < victim->touched)) {
            victim = s;
        }
    }
    memset(victim, 0, sizeof(*victim));
    memcpy(victim->key, key, key_len);
    victim->key_len = (uint8_t)key_len;
    victim->touched = now;
    return victim;
}

static size_t ip_key(uint8_t key[KEY_MAX], char tag, const struct at_ip *ip)
{
    key[0] = (uint8_t)tag;
    memcpy(key + 1, ip->b, 16);
    return 17;
}

static bool take(struct at_limits *l, const struct at_rate_spec *r, const uint8_t *key,
                 size_t key_len, unsigned *retry_s)
{
    if (r->rate == 0) {
        return true;
    }
    double now = now_s();
    pthread_mutex_lock(&l->mu);
    struct slot *s = lookup(l, key, key_len, now);
    if (s->last == 0) {
        s->tokens = (double)r->burst;
    } else {
        s->tokens += (now - s->last) * (double)r->rate;
        if (s->tokens > (double)r->burst) {
            s->tokens = (double)r->burst;
        }
    }
    s->last = now;
    bool ok = s->tokens >= 1.0;
    if (ok) {
        s->tokens -= 1.0;
    } else {
        double wait = (1.0 - s->tokens) / (double)r->rate;
        *retry_s = (unsigned)ceil(wait);
        if (*retry_s < 1) {
            *retry_s = 1;
        }
    }
    pthread_mutex_unlock(&l->mu);
    return ok;
}

bool at_limits_source_take(struct at_limits *l, const struct at_ip *ip, unsigned *retry_s)
{
    uint8_t key[KEY_MAX];
    size_t n = ip_key(key, 's', ip);
    return take(l, &l->src, key, n, retry_s);
}

bool at_limits_provider_take(struct at_limits *l, const char *provider, unsigned *retry_s)
{
    uint8_t key[KEY_MAX];
    size_t n = strlen(provider);
    if (n > KEY_MAX - 1) {
        n = KEY_MAX - 1;
    }
    key[0] = 'p';
    memcpy(key + 1, provider, n);
    return take(l, &l->prov, key, n + 1, retry_s);
}

void at_limits_auth_failure(struct at_limits *l, const struct at_ip *ip)
{
    if (l->fail.failures == 0) {
        return;
    }
    uint8_t key[KEY_MAX];
    size_t n = ip_key(key, 'a', ip);
    double now = now_s();
    pthread_mutex_lock(&l->mu);
    struct slot *s = lookup(l, key, n, now);
    if (s->last == 0 || now - s->last > (double)l->fail.window_s) {
        s->last = now; /* a new window */
        s->count = 0;
    }
    s->count++;
    if (s->count >= l->fail.failures) {
        s->until = now + (double)l->fail.cooldown_s;
        s->count = 0;
        s->last = now;
    }
    pthread_mutex_unlock(&l->mu);
}

bool at_limits_auth_blocked(struct at_limits *l, const struct at_ip *ip, unsigned *retry_s)
{
    if (l->fail.failures == 0) {
        return false;
    }
    uint8_t key[KEY_MAX];
    size_t n = ip_key(key, 'a', ip);
    double now = now_s();
    pthread_mutex_lock(&l->mu);
    struct slot *s = lookup(l, key, n, now);
    bool blocked = s->until > now;
    if (blocked) {
        *retry_s = (unsigned)ceil(s->until - now);
        if (*retry_s < 1) {
            *retry_s = 1;
        }
    }
    pthread_mutex_unlock(&l->mu);
    return blocked;
}

bool at_limits_once_per(struct at_limits *l, char tag, const struct at_ip *ip, unsigned period_s)
{
    uint8_t key[KEY_MAX];
    size_t n = ip_key(key, tag, ip);
    double now = now_s();
    pthread_mutex_lock(&l->mu);
    struct slot *s = lookup(l, key, n, now);
    bool fire = s->last == 0 || now - s->last >= (double)period_s;
    if (fire) {
        s->last = now;
    }
    pthread_mutex_unlock(&l->mu);
    return fire;
}
