/*
 * Trusted issuers' signing keys (JWKS, RFC 7517) from files kept up to date by whatever
 * fetches them (docs/identity.md "Key rollover"). Entra ID rolls its keys over without
 * notice, so a changed file is picked up on the next request; a broken file does not
 * lock everybody out at once, but old keys are not trusted forever either.
 */
#include "auth/auth_int.h"
#include "base/fileio.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

struct at_jwks_cache {
    char *path;    /* jwks_file, or NULL for a URI cache */
    char *uri;     /* jwks_uri, or NULL for a file cache */
    char *ca_file; /* URI cache: PEM bundle to trust, NULL for the system store */
    int64_t refresh_s;
    int64_t stale_max_s;
    pthread_mutex_t mu;
    json_t *jwks;       /* last good document; NULL once expired */
    struct file_id id;  /* of the file jwks was read from */
    bool have_time;     /* checked_at / good_at are set (the first request sets them) */
    int64_t checked_at; /* request time of the last read attempt */
    int64_t good_at;    /* request time the keys were last read or confirmed */
    bool have_forced;   /* URI cache: forced_at is set */
    int64_t forced_at;  /* URI cache: request time of the last out-of-schedule fetch */
};

/* Members of a JWK that only private or symmetric keys have (RFC 7518 §6.2.2, §6.3.2, §6.4). */
static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

static at_status check_jwk(const json_t *k, size_t i, struct at_err *e)
{
    AT_ENSURE(json_is_object(k), e, AT_E_BAD_VALUE, "jwks", "JWKS key %zu is not an object", i);
    const char *kid = json_string_value(json_object_get(k, "kid"));
    AT_ENSURE(kid != NULL && kid[0] != '\0', e, AT_E_BAD_VALUE, "jwks",
              "JWKS key %zu has no \"kid\" string", i);
    for (size_t m = 0; m < sizeof(private_members) / sizeof(private_members[0]); m++) {
        AT_ENSURE(json_object_get(k, private_members[m]) == NULL, e, AT_E_BAD_VALUE, "jwks",
                  "JWKS key %zu holds private or symmetric key material (\"%s\"): only public"
                  " keys belong in an issuer's JWKS",
                  i, private_members[m]);
    }
    return at_ok();
}

at_status at_jwks_check(const json_t *jwks, struct at_err *e)
{
    const json_t *keys = json_object_get(jwks, "keys");
    AT_ENSURE(json_is_object(jwks) && json_is_array(keys), e, AT_E_BAD_VALUE, "jwks",
              "JWKS is not an object with a \"keys\" array");
    size_t n = json_array_size(keys);
    AT_ENSURE(n <= AT_AUTH_MAX_JWKS_KEYS, e, AT_E_LIMIT, "jwks", "JWKS has more than %d keys",
              AT_AUTH_MAX_JWKS_KEYS);
    for (size_t i = 0; i < n; i++) {
        AT_TRY(check_jwk(json_array_get(keys, i), i, e));
    }
    return at_ok();
}

static void file_id_of(const struct stat *st, struct file_id *id)
{
    memset(id, 0, sizeof(*id));
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->size = st->st_size;
    id->mtime = st->st_mtim;
}

static bool file_id_eq(const struct file_id *a, const struct file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* Read and check the file; its identity (stat before reading) in *id. */
static at_status read_jwks(const char *path, json_t **out, struct file_id *id, struct at_err *e)
{
    struct stat st;
    AT_ENSURE(stat(path, &st) == 0, e, AT_E_IO, "jwks", "cannot stat JWKS file %s: %s", path,
              strerror(errno));
    uint8_t *buf = NULL;
    size_t len = 0;
    AT_TRY(at_file_read(path, AT_AUTH_JWKS_MAX, &buf, &len, e));
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
    free(buf);
    if (doc == NULL) {
        AT_FAIL(e, AT_E_PARSE, "jwks", "JWKS file %s is not JSON (line %d: %s)", path, jerr.line,
                jerr.text);
    }
    at_status r = at_jwks_check(doc, e);
    if (!at_is_ok(r)) {
        json_decref(doc);
        at_err_context(e, path);
        return r;
    }
    file_id_of(&st, id);
    *out = doc;
    return at_ok();
}

at_status at_jwks_cache_new(const char *path, int64_t refresh_s, int64_t stale_max_s,
                            struct at_jwks_cache **out, struct at_err *e)
{
    AT_ENSURE(path != NULL && path[0] != '\0' && refresh_s > 0 && stale_max_s >= refresh_s, e,
              AT_E_USAGE, "jwks", "bad JWKS cache parameters");
    struct at_jwks_cache *c = calloc(1, sizeof(*c));
    AT_ENSURE(c != NULL, e, AT_E_NOMEM, "jwks", "out of memory");
    c->path = strdup(path);
    if (c->path == NULL || pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c->path);
        free(c);
        AT_FAIL(e, AT_E_NOMEM, "jwks", "out of memory");
    }
    c->refresh_s = refresh_s;
    c->stale_max_s = stale_max_s;
    at_status r = read_jwks(path, &c->jwks, &c->id, e);
    if (!at_is_ok(r)) {
        at_jwks_cache_free(c);
        return r;
    }
    *out = c;
    return at_ok();
}

void at_jwks_cache_free(struct at_jwks_cache *c)
{
    if (c == NULL) {
        return;
    }
    json_decref(c->jwks);
    pthread_mutex_destroy(&c->mu);
    free(c->path);
    free(c->uri);
    free(c->ca_file);
    free(c);
}

/* Under c->mu: re-read the file if it changed or refresh_s has passed. */
static void refresh_locked(struct at_jwks_cache *c, int64_t now)
{
    if (!c->have_time) {
        /* The keys were read at creation, which had no request time: count from now. */
        c->have_time = true;
        c->checked_at = now;
        c->good_at = now;
    }
    struct stat st;
    struct file_id id;
    bool changed = true;
    if (stat(c->path, &st) == 0) {
        file_id_of(&st, &id);
        changed = c->jwks == NULL || !file_id_eq(&id, &c->id);
    }
    bool due = now < c->checked_at || now - c->checked_at >= c->refresh_s;
    if (!changed && !due) {
        return;
    }
    c->checked_at = now;
    struct at_err sub;
    at_err_init(&sub);
    json_t *doc = NULL;
    if (at_is_ok(read_jwks(c->path, &doc, &id, &sub))) {
        json_decref(c->jwks);
        c->jwks = doc;
        c->id = id;
        c->good_at = now;
        return;
    }
    /* Keep the last good keys for a while; the caller sees them go stale. */
    if (c->jwks != NULL && (now < c->good_at || now - c->good_at > c->stale_max_s)) {
        json_decref(c->jwks);
        c->jwks = NULL;
    }
}

at_status at_jwks_cache_new_uri(const char *uri, const char *ca_file, int64_t refresh_s,
                                int64_t stale_max_s, struct at_jwks_cache **out, struct at_err *e)
{
    AT_ENSURE(uri != NULL && strncmp(uri, "https://", 8) == 0 && refresh_s > 0 &&
                  stale_max_s >= refresh_s,
              e, AT_E_USAGE, "jwks", "bad JWKS cache parameters");
    struct at_jwks_cache *c = calloc(1, sizeof(*c));
    AT_ENSURE(c != NULL, e, AT_E_NOMEM, "jwks", "out of memory");
    c->uri = strdup(uri);
    c->ca_file = ca_file != NULL ? strdup(ca_file) : NULL;
    if (c->uri == NULL || (ca_file != NULL && c->ca_file == NULL) ||
        pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c->uri);
        free(c->ca_file);
        free(c);
        AT_FAIL(e, AT_E_NOMEM, "jwks", "out of memory");
    }
    c->refresh_s = refresh_s;
    c->stale_max_s = stale_max_s;
    /* Not fatal: the issuer's tokens fail with unknown_kid until a fetch succeeds. */
    struct at_err sub;
    at_err_init(&sub);
    if (!at_is_ok(at_jwks_fetch(c->uri, c->ca_file, &c->jwks, &sub))) {
        c->jwks = NULL;
    }
    *out = c;
    return at_ok();
}

/* now - since >= d, without overflow; false when now is not after since. */
static bool elapsed(int64_t now, int64_t since, int64_t d)
{
    return now > since && (uint64_t)now - (uint64_t)since >= (uint64_t)d;
}

/* Does `jwks` hold a key with this kid? */
static bool has_kid(const json_t *jwks, const char *kid)
{
    const json_t *keys = json_object_get(jwks, "keys");
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const char *k = json_string_value(json_object_get(json_array_get(keys, i), "kid"));
        if (k != NULL && strcmp(k, kid) == 0) {
            return true;
        }
    }
    return false;
}

/* Under c->mu: fetch now; on success the new keys, on failure the old ones stay. */
static void fetch_locked(struct at_jwks_cache *c, int64_t now)
{
    c->checked_at = now;
    struct at_err sub;
    at_err_init(&sub);
    json_t *doc = NULL;
    if (at_is_ok(at_jwks_fetch(c->uri, c->ca_file, &doc, &sub))) {
        json_decref(c->jwks);
        c->jwks = doc;
        c->good_at = now;
    }
}

/* An out-of-schedule fetch is allowed once per AT_AUTH_JWKS_FORCED_S. */
static bool take_forced(struct at_jwks_cache *c, int64_t now)
{
    if (c->have_forced && !elapsed(now, c->forced_at, AT_AUTH_JWKS_FORCED_S)) {
        return false;
    }
    c->have_forced = true;
    c->forced_at = now;
    return true;
}

/*
 * Under c->mu: refetch when refresh_s has passed since the last attempt, when there are no
 * keys, or when the keys lack `kid` (the last two rate-limited); then drop keys last
 * confirmed more than stale_max_s ago. A request whose `now` is behind the last attempt
 * (requests racing) fetches nothing.
 */
static void refresh_uri_locked(struct at_jwks_cache *c, int64_t now, const char *kid)
{
    if (!c->have_time) {
        /* The creation fetch had no request time: count from now. */
        c->have_time = true;
        c->checked_at = now;
        c->good_at = now;
    }
    bool due = c->jwks == NULL ? take_forced(c, now) : elapsed(now, c->checked_at, c->refresh_s);
    if (due) {
        fetch_locked(c, now);
    } else if (c->jwks != NULL && kid != NULL && !has_kid(c->jwks, kid) && take_forced(c, now)) {
        fetch_locked(c, now);
    }
    if (c->jwks != NULL && elapsed(now, c->good_at, c->stale_max_s + 1)) {
        json_decref(c->jwks);
        c->jwks = NULL;
    }
}

at_status at_jwks_cache_get(struct at_jwks_cache *c, int64_t now, const char *kid, json_t **jwks,
                            struct at_err *e)
{
    at_assert(pthread_mutex_lock(&c->mu) == 0);
    if (c->uri != NULL) {
        refresh_uri_locked(c, now, kid);
    } else {
        refresh_locked(c, now);
    }
    json_t *doc = json_incref(c->jwks);
    at_assert(pthread_mutex_unlock(&c->mu) == 0);
    AT_ENSURE(doc != NULL, e, AT_E_NOT_FOUND, "jwks",
              "the issuer's signing keys are unavailable (JWKS unreadable for too long)");
    *jwks = doc;
    return at_ok();
}
