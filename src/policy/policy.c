/* Compile (text -> immutable policy) and accessors. */
#include "base/limits.h"
#include "policy/ast.h"

#include <stdlib.h>
#include <string.h>

at_status at_policy_compile(const char *text, size_t len, enum at_policy_mode mode,
                            struct at_policy **out, struct at_policy_diag *diag, struct at_err *e)
{
    if (diag != NULL) {
        memset(diag, 0, sizeof(*diag));
    }
    if (len > AT_LIMIT_POLICY_BYTES) {
        if (diag != NULL) {
            diag->line = 1;
            diag->col = 1;
            memcpy(diag->msg, "policy text is too large", sizeof("policy text is too large"));
        }
        AT_FAIL(e, AT_E_LIMIT, "policy", "policy text of %zu bytes is over the limit of %u", len,
                AT_LIMIT_POLICY_BYTES);
    }
    struct at_policy *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        AT_FAIL(e, AT_E_NOMEM, "policy", "out of memory");
    }
    pol_arena_init(&p->arena, 0);
    at_claims_init(&p->config);
    p->mode = mode;
    p->text = malloc(len + 1);
    at_status s;
    if (p->text == NULL) {
        s = at_fail_(e, AT_E_NOMEM, "policy", __FILE__, __LINE__, "out of memory");
        goto out;
    }
    if (len > 0) {
        memcpy(p->text, text, len);
    }
    p->text[len] = '\0';
    p->text_len = len;
    s = pol_parse(p, diag, e);
    if (at_is_ok(s)) {
        s = pol_eval_config(p, diag, e);
    }
    if (at_is_ok(s)) {
        s = at_policy_hash(p->text, p->text_len, p->hash, e);
    }
out:
    if (!at_is_ok(s)) {
        at_policy_free(p);
        return s;
    }
    *out = p;
    return at_ok();
}

void at_policy_free(struct at_policy *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->njq; i++) {
        at_jmes_free(p->jq[i]);
    }
    free(p->jq);
    at_claims_clear(&p->config);
    pol_arena_free(&p->arena);
    free(p->warnings);
    free(p->text);
    free(p);
}

unsigned at_policy_version(const struct at_policy *p)
{
    return p->version;
}

size_t at_policy_warning_count(const struct at_policy *p)
{
    return p->nwarnings;
}

const struct at_policy_diag *at_policy_warning(const struct at_policy *p, size_t i)
{
    return i < p->nwarnings ? &p->warnings[i] : NULL;
}

const char *at_policy_text(const struct at_policy *p, size_t *len)
{
    if (len != NULL) {
        *len = p->text_len;
    }
    return p->text;
}

const char *at_policy_hash_str(const struct at_policy *p)
{
    return p->hash;
}

const struct at_claims *at_policy_config(const struct at_policy *p)
{
    return &p->config;
}
