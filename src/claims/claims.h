/*
 * The claim set: an ordered multiset of (type, issuer, typed value).
 *
 * Values are strings, integers, booleans, byte strings (rendered as lowercase
 * hex, the MAA convention for hardware fields) or JSON documents (objects such
 * as x-ms-sgx-collateral). A claim set owns all of its strings and values.
 * Not thread-safe; a set is built by one verifier and then only read.
 */
#ifndef AT_CLAIMS_CLAIMS_H
#define AT_CLAIMS_CLAIMS_H

#include "base/status.h"

#include <jansson.h>
#include <stdint.h>

#define AT_ISSUER_SERVICE "AttestationService"
#define AT_ISSUER_CUSTOM "CustomClaim"

enum at_claim_kind {
    AT_CLAIM_STRING,
    AT_CLAIM_INT,
    AT_CLAIM_BOOL,
    AT_CLAIM_BYTES,
    AT_CLAIM_JSON,
};

struct at_claim {
    char *type;
    char *issuer;
    enum at_claim_kind kind;
    union {
        char *s;
        int64_t i;
        bool b;
        struct {
            uint8_t *p;
            size_t len;
        } bytes;
        json_t *json; /* owned reference */
    } v;
};

struct at_claims {
    struct at_claim *items;
    size_t count;
    size_t cap;
};

void at_claims_init(struct at_claims *cs);
void at_claims_clear(struct at_claims *cs);

/* Adders copy their arguments; issuer NULL means AttestationService. */
AT_NODISCARD at_status at_claims_add_str(struct at_claims *cs, const char *type,
                                         const char *issuer, const char *value, struct at_err *e);
AT_NODISCARD at_status at_claims_add_int(struct at_claims *cs, const char *type,
                                         const char *issuer, int64_t value, struct at_err *e);
AT_NODISCARD at_status at_claims_add_bool(struct at_claims *cs, const char *type,
                                          const char *issuer, bool value, struct at_err *e);
AT_NODISCARD at_status at_claims_add_bytes(struct at_claims *cs, const char *type,
                                           const char *issuer, const uint8_t *p, size_t len,
                                           struct at_err *e);
/* Takes a new reference to `json`. */
AT_NODISCARD at_status at_claims_add_json(struct at_claims *cs, const char *type,
                                          const char *issuer, json_t *json, struct at_err *e);
/* Deep-copy one claim in. */
AT_NODISCARD at_status at_claims_add_copy(struct at_claims *cs, const struct at_claim *c,
                                          struct at_err *e);

/* First claim of `type` (any issuer when issuer is NULL), or NULL. */
const struct at_claim *at_claims_find(const struct at_claims *cs, const char *type,
                                      const char *issuer);

/* The value as JSON (bytes as lowercase hex). New reference; NULL on allocation failure. */
json_t *at_claim_value_json(const struct at_claim *c);

/* Object {type: value}; a type present more than once becomes an array, in order. */
json_t *at_claims_to_json(const struct at_claims *cs);

/*
 * Parse claims from JSON: an array of {"type","value","issuer"?} (issuer defaults to
 * AttestationService) or an object mapping type to value. Strings stay strings,
 * integers integers, booleans booleans, anything else (object, array of a
 * non-claim, real) becomes a JSON claim. Arrays in the object form add one claim
 * per element.
 */
AT_NODISCARD at_status at_claims_from_json(struct at_claims *cs, const json_t *j,
                                           struct at_err *e);

#endif
