#include "base/cache.h"

#include "base/status.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    uint8_t key[32];
    struct at_cache_obj *obj;
    int64_t from, until;
    uint64_t used; /* LRU clock */
};

struct at_cache {
    pthread_mutex_t mu;
    struct entry *e;
    size_t n, max;
    uint64_t clock;
};

struct at_cache *at_cache_new(size_t max_entries)
{
    struct at_cache *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->max = max_entries > 0 ? max_entries : 1;
    c->e = calloc(c->max, sizeof(*c->e));
    if (c->e == NULL || pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c->e);
        free(c);
        return NULL;
    }
    return c;
}

void at_cache_free(struct at_cache *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        at_cache_obj_unref(c->e[i].obj);
    }
    pthread_mutex_destroy(&c->mu);
    free(c->e);
    free(c);
}

void at_cache_obj_init(struct at_cache_obj *o, void (*destroy)(struct at_cache_obj *))
{
    atomic_init(&o->refs, 1);
    o->destroy = destroy;
}

void at_cache_obj_ref(struct at_cache_obj *o)
{
    atomic_fetch_add(&o->refs, 1);
}

void at_cache_obj_unref(struct at_cache_obj *o)
{
    if (o != NULL && atomic_fetch_sub(&o->refs, 1) == 1) {
        o->destroy(o);
    }
}

struct at_cache_obj *at_cache_get(struct at_cache *c, const uint8_t key[32], int64_t at)
{
    struct at_cache_obj *found = NULL;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n; i++) {
        struct entry *en = &c->e[i];
        if (memcmp(en->key, key, 32) == 0) {
            if (at >= en->from && at <= en->until) {
                found = en->obj;
                at_cache_obj_ref(found);
                en->used = ++c->clock;
            }
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return found;
}

void at_cache_put(struct at_cache *c, const uint8_t key[32], struct at_cache_obj *o, int64_t from,
                  int64_t until)
{
    at_cache_obj_ref(o);
    pthread_mutex_lock(&c->mu);
    size_t slot = c->n;
    for (size_t i = 0; i < c->n; i++) {
        if (memcmp(c->e[i].key, key, 32) == 0) {
            slot = i;
            break;
        }
    }
    struct at_cache_obj *old = NULL;
    if (slot == c->n && c->n == c->max) {
        /* Evict the least recently used entry. */
        slot = 0;
        for (size_t i = 1; i < c->n; i++) {
            if (c->e[i].used < c->e[slot].used) {
                slot = i;
            }
        }
    }
    if (slot < c->n) {
        old = c->e[slot].obj;
    } else {
        c->n++;
    }
    memcpy(c->e[slot].key, key, 32);
    c->e[slot].obj = o;
    c->e[slot].from = from;
    c->e[slot].until = until;
    c->e[slot].used = ++c->clock;
    pthread_mutex_unlock(&c->mu);
    at_cache_obj_unref(old);
}

size_t at_cache_count(struct at_cache *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->n;
    pthread_mutex_unlock(&c->mu);
    return n;
}
