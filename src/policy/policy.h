/*
 * The MAA attestation policy engine (policy language 1.0, 1.1, 1.2;
 * shared/spec/policy-language.md, cited below as "spec §N").
 *
 * A policy is compiled once (lexer -> parser -> AST -> static validation,
 * spec §2-§3) into a `struct at_policy`, which is immutable afterwards: any
 * number of threads may evaluate it concurrently. Evaluation (spec §5-§7)
 * walks the AST against a borrowed claim set and fills a caller-owned
 * `struct at_policy_result`.
 *
 * Ownership: at_policy_compile returns a heap object freed by at_policy_free.
 * The policy keeps its own copy of the text. at_policy_eval borrows the
 * incoming claims for the duration of the call only. A result owns everything
 * it holds; release it with at_policy_result_clear.
 *
 * Limits (src/base/limits.h, AT_LIMIT_POLICY_*): text size, rule count,
 * conditions per rule, call nesting, evaluation steps, JSON size, claim
 * count and scratch memory. Going over a limit is an error (AT_E_LIMIT),
 * never a hang.
 *
 * Not checked here: evidence (the claim set is trusted to be what the
 * verifier produced); token signing.
 */
#ifndef AT_POLICY_POLICY_H
#define AT_POLICY_POLICY_H

#include "base/status.h"
#include "claims/claims.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define AT_ISSUER_POLICY "AttestationPolicy"

struct at_policy;

enum at_policy_mode {
    AT_POLICY_LENIENT = 0, /* spec §3.2: accept the quirks of Microsoft's samples, with warnings */
    AT_POLICY_STRICT = 1,  /* reject them (linting) */
};

/* One diagnostic: an error or a warning, at a 1-based line and column (bytes). */
struct at_policy_diag {
    unsigned line;
    unsigned col;
    size_t offset;
    char msg[256];
    char expected[96]; /* what the parser expected there ("" if not a syntax error) */
};

/*
 * Compile `len` bytes of policy text. On success *out is a new policy. On
 * failure returns AT_E_PARSE (syntax/validation), AT_E_UNSUPPORTED (version),
 * AT_E_LIMIT or AT_E_NOMEM; `e` gets a message with line:column, and `diag`
 * (may be NULL) the structured position and what was expected.
 */
AT_NODISCARD at_status at_policy_compile(const char *text, size_t len, enum at_policy_mode mode,
                                         struct at_policy **out, struct at_policy_diag *diag,
                                         struct at_err *e);
void at_policy_free(struct at_policy *p);

/* 10, 11 or 12 for versions 1.0, 1.1, 1.2. */
unsigned at_policy_version(const struct at_policy *p);
size_t at_policy_warning_count(const struct at_policy *p);
const struct at_policy_diag *at_policy_warning(const struct at_policy *p, size_t i);
/* The exact text the policy was compiled from (NUL-terminated; len via *len if non-NULL). */
const char *at_policy_text(const struct at_policy *p, size_t *len);
/* x-ms-policy-hash of the policy's exact text (spec §1.4); 43 chars + NUL. */
const char *at_policy_hash_str(const struct at_policy *p);
/*
 * Properties set by configurationrules (spec §8), evaluated at compile time
 * (configuration rules see no claims). Last assignment of a name wins; use
 * at_policy_prop_find.
 */
const struct at_claims *at_policy_config(const struct at_policy *p);

/* Canonical text of the policy (spec grammar, strict-mode valid). Heap string or NULL. */
char *at_policy_print(const struct at_policy *p);

enum at_policy_verdict {
    AT_POLICY_PERMIT = 0,
    AT_POLICY_DENY,     /* a deny() fired (spec §6.6 step 1) */
    AT_POLICY_NOPERMIT, /* no permit() fired (spec §6.6 step 2) */
    AT_POLICY_ERROR,    /* runtime error (spec §5), limit, or out of memory */
};

struct at_policy_eval_opts {
    bool explain;     /* build the explain trace (slower) */
    size_t steps_max; /* 0 = AT_LIMIT_POLICY_STEPS */
};

struct at_policy_result {
    enum at_policy_verdict verdict;
    struct at_claims issued;     /* outgoing set (issue), in issuance order */
    struct at_claims properties; /* config properties then issueproperty, in order */
    /*
     * For a verdict other than PERMIT: {"code","message","rule"?:{"section","index",
     * "line","column","text"},"claims"?:[...]}. NULL on PERMIT.
     */
    json_t *detail;
    /* With opts->explain: one entry per rule evaluated (see docs/policy.md). */
    json_t *explain;
    struct at_err err; /* the failure, for a verdict other than PERMIT */
};

void at_policy_result_init(struct at_policy_result *r);
void at_policy_result_clear(struct at_policy_result *r);

/*
 * Evaluate `p` against `in` (issuer AttestationService for evidence claims;
 * the TPM `pcrs` service claim is treated as read-only, spec §7.7). `opts`
 * may be NULL. `r` must be initialised; it is cleared first.
 * Returns at_ok() on PERMIT; otherwise AT_E_POLICY (deny, no permit, runtime
 * error), AT_E_LIMIT or AT_E_NOMEM, with `e` and r->err filled.
 */
AT_NODISCARD at_status at_policy_eval(const struct at_policy *p, const struct at_claims *in,
                                      const struct at_policy_eval_opts *opts,
                                      struct at_policy_result *r, struct at_err *e);

/* Last claim of `type` in a property set, or NULL. */
const struct at_claim *at_policy_prop_find(const struct at_claims *props, const char *type);

/* "permit", "deny", "nopermit", "error". */
const char *at_policy_verdict_name(enum at_policy_verdict v);

/*
 * x-ms-policy-hash (spec §1.4): BASE64URL(SHA-256(ASCII(BASE64URL(text)))),
 * no padding. `out` receives 43 characters and a NUL.
 */
AT_NODISCARD at_status at_policy_hash(const char *text, size_t len, char out[44],
                                      struct at_err *e);

/*
 * Default policy text for an attestation type name ("SgxEnclave",
 * "OpenEnclave", "SevSnpVm", "TdxVm", "AzureGuest"), or NULL when the type
 * has no default (Tpm, VbsEnclave: spec §1.7) or is unknown. Static string.
 */
const char *at_policy_default_text(const char *attestation_type);

/*
 * Token assembly (spec §9): put the issued claims into `token` as the object
 * "x-ms-policy" (omitted when nothing was issued; a type issued twice becomes
 * an array in issuance order) and, for SgxEnclave and OpenEnclave, also at
 * the top level, where an existing (service) claim of the same name wins.
 * Sets "x-ms-policy-hash" when policy_hash is non-NULL.
 */
AT_NODISCARD at_status at_policy_assemble(json_t *token, const char *attestation_type,
                                          const struct at_claims *issued,
                                          const char *policy_hash, struct at_err *e);

/* The issued set as a JSON object (x-ms-policy form); new reference or NULL. */
json_t *at_policy_claims_object(const struct at_claims *cs);

#endif
