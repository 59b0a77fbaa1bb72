/*
 * A small cache of verified objects keyed by a 32-byte digest of their inputs,
 * each valid for a time window [from, until] (the intersection of every
 * certificate, CRL and collateral validity that went into it). A lookup at
 * time T outside the window misses, so nothing is ever used past its earliest
 * expiry. Objects are reference-counted; the cache is thread-safe.
 */
#ifndef AT_BASE_CACHE_H
#define AT_BASE_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct at_cache_obj {
    atomic_int refs;
    void (*destroy)(struct at_cache_obj *obj);
};

struct at_cache;

struct at_cache *at_cache_new(size_t max_entries);
void at_cache_free(struct at_cache *c);

/* Initialise a new object with one reference (the caller's). */
void at_cache_obj_init(struct at_cache_obj *o, void (*destroy)(struct at_cache_obj *));
void at_cache_obj_ref(struct at_cache_obj *o);
void at_cache_obj_unref(struct at_cache_obj *o);

/* A new reference to the object stored under key and valid at `at`, or NULL. */
struct at_cache_obj *at_cache_get(struct at_cache *c, const uint8_t key[32], int64_t at);
/* Store (the cache takes its own reference); replaces an entry with the same key. */
void at_cache_put(struct at_cache *c, const uint8_t key[32], struct at_cache_obj *o, int64_t from,
                  int64_t until);
size_t at_cache_count(struct at_cache *c);

#endif
