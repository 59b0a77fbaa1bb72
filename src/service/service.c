/*
 * The service object: configuration, and the in-memory caches that keep the hot path
 * off the store and off certificate parsing — provider signers, compiled policies and
 * collateral bundles, each reloaded when the store's generation changes — plus the
 * verified-collateral cache of the evidence layer.
 */
#include "service/service_int.h"

#include "base/fileio.h"
#include "base/secure.h"
#include "crypto/x509.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const type_names[] = {
    [AT_ATT_SGX_ENCLAVE] = "SgxEnclave", [AT_ATT_OPEN_ENCLAVE] = "OpenEnclave",
    [AT_ATT_TDX_VM] = "TdxVm",           [AT_ATT_SEV_SNP_VM] = "SevSnpVm",
    [AT_ATT_TPM] = "Tpm",
};

const char *at_att_type_name(enum at_att_type t)
{
    switch (t) {
    case AT_ATT_SGX_ENCLAVE:
    case AT_ATT_OPEN_ENCLAVE:
    case AT_ATT_TDX_VM:
    case AT_ATT_SEV_SNP_VM:
    case AT_ATT_TPM:
        return type_names[t];
    }
    return "Unknown";
}

at_status at_att_type_parse(const char *s, size_t len, enum at_att_type *out, struct at_err *e)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
        if (strlen(type_names[i]) == len && strncasecmp(s, type_names[i], len) == 0) {
            *out = (enum at_att_type)i;
            return at_ok();
        }
    }
    AT_FAIL(e, AT_E_NOT_FOUND, "attestation_type", "unknown attestation type '%.*s'",
            (int)(len > 40 ? 40 : len), s);
}

static void obj_free_signer(struct at_cache_obj *o)
{
    struct svc_signer *s = (struct svc_signer *)o;
    at_signer_free(s->signer);
    free(s);
}

static void obj_free_policy(struct at_cache_obj *o)
{
    struct svc_policy *p = (struct svc_policy *)o;
    at_policy_free(p->policy);
    free(p);
}

static void obj_free_collateral(struct at_cache_obj *o)
{
    struct svc_collateral *c = (struct svc_collateral *)o;
    at_dcap_collateral_clear(&c->col);
    free(c);
}

/* A test-only replacement root from a PEM or DER file; nothing when path is NULL. */
static at_status load_root(const char *path, const char *what, X509 **out, struct at_err *e)
{
    if (path == NULL) {
        return at_ok();
    }
    uint8_t *pem;
    size_t len;
    AT_TRY(at_file_read(path, 1 << 20, &pem, &len, e));
    at_status s = at_x509_from_pem_or_der(pem, len, out, what, e);
    free(pem);
    return s;
}

at_status at_service_new(const struct at_service_config *cfg, struct at_service **out,
                         struct at_err *e)
{
    struct at_service *svc = calloc(1, sizeof(*svc));
    if (svc == NULL) {
        AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
    }
    svc->store = cfg->store;
    svc->fixed_time = cfg->fixed_time;
    svc->fixed_now = cfg->fixed_now;
    svc->token_lifetime_s = cfg->token_lifetime_s;
    svc->dcap_cache = at_cache_new(AT_LIMIT_CACHE_ENTRIES);
    if (pthread_mutex_init(&svc->mu, NULL) != 0 || svc->dcap_cache == NULL) {
        at_cache_free(svc->dcap_cache);
        free(svc);
        AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
    }
    if (cfg->issuer_base != NULL) {
        svc->issuer_base = strdup(cfg->issuer_base);
    }
    at_status s = load_root(cfg->sgx_root_pem_path, "sgx_root_ca", &svc->sgx_root, e);
    if (at_is_ok(s)) {
        s = load_root(cfg->amd_ark_pem_path, "amd_ark", &svc->amd_ark, e);
    }
    if (!at_is_ok(s)) {
        at_service_free(svc);
        return s;
    }
    *out = svc;
    return at_ok();
}

void at_service_free(struct at_service *svc)
{
    if (svc == NULL) {
        return;
    }
    for (size_t i = 0; i < svc->n_signers; i++) {
        at_cache_obj_unref(svc->signers[i]);
    }
    for (size_t i = 0; i < svc->n_policies; i++) {
        at_cache_obj_unref(svc->policies[i]);
    }
    for (size_t i = 0; i < svc->n_collateral; i++) {
        at_cache_obj_unref(svc->collateral[i]);
    }
    at_cache_free(svc->dcap_cache);
    X509_free(svc->sgx_root);
    X509_free(svc->amd_ark);
    free(svc->issuer_base);
    pthread_mutex_destroy(&svc->mu);
    free(svc);
}

int64_t at_service_now(const struct at_service *svc)
{
    return svc->fixed_time ? svc->fixed_now : at_time_now();
}

/* Replace slot `i` of a cache list (or append), under svc->mu. */
#define SVC_CACHE_MAX 64
#define SIG(i) ((struct svc_signer *)(void *)svc->signers[i])
#define POL(i) ((struct svc_policy *)(void *)svc->policies[i])
#define COL(i) ((struct svc_collateral *)(void *)svc->collateral[i])

static void list_put(struct at_cache_obj **slots, size_t *n, size_t i, struct at_cache_obj *o)
{
    at_cache_obj_ref(o);
    if (i < *n) {
        at_cache_obj_unref(slots[i]);
        slots[i] = o;
    } else if (*n < SVC_CACHE_MAX) {
        slots[(*n)++] = o;
    } else {
        at_cache_obj_unref(slots[0]);
        slots[0] = o;
    }
}

at_status svc_signer_get(struct at_service *svc, uint64_t gen, const char *provider,
                         struct svc_signer **out, struct at_err *e)
{
    pthread_mutex_lock(&svc->mu);
    size_t i;
    for (i = 0; i < svc->n_signers; i++) {
        if (strcmp(SIG(i)->name, provider) == 0) {
            break;
        }
    }
    if (i < svc->n_signers && SIG(i)->gen == gen) {
        *out = SIG(i);
        at_cache_obj_ref(&(*out)->obj);
        pthread_mutex_unlock(&svc->mu);
        return at_ok();
    }
    pthread_mutex_unlock(&svc->mu);

    struct at_provider p;
    memset(&p, 0, sizeof(p));
    AT_TRY(at_store_provider_get(svc->store, provider, &p, e));
    struct svc_signer *s = calloc(1, sizeof(*s));
    enum at_jws_alg alg;
    at_status st = s != NULL ? at_jws_alg_parse(p.alg, &alg, e)
                             : at_fail_(e, AT_E_NOMEM, NULL, __FILE__, __LINE__, "out of memory");
    if (at_is_ok(st)) {
        st = at_signer_load(alg, p.signing_key, p.signing_key_len, p.signing_cert,
                            p.signing_cert_len, &s->signer, e);
    }
    if (!at_is_ok(st)) {
        free(s);
        at_provider_clear(&p);
        return st;
    }
    at_cache_obj_init(&s->obj, obj_free_signer);
    memcpy(s->name, p.name, sizeof(s->name));
    s->mode = p.mode;
    s->lifetime_s = p.token_lifetime_s > 0 ? p.token_lifetime_s : 28800;
    s->gen = gen;
    at_provider_clear(&p);

    pthread_mutex_lock(&svc->mu);
    for (i = 0; i < svc->n_signers; i++) {
        if (strcmp(SIG(i)->name, provider) == 0) {
            break;
        }
    }
    list_put(svc->signers, &svc->n_signers, i, &s->obj);
    pthread_mutex_unlock(&svc->mu);
    *out = s; /* the caller keeps the creation reference */
    return at_ok();
}

at_status svc_policy_get(struct at_service *svc, uint64_t gen, const char *provider,
                         enum at_att_type type, struct svc_policy **out, struct at_err *e)
{
    pthread_mutex_lock(&svc->mu);
    size_t i;
    for (i = 0; i < svc->n_policies; i++) {
        if (POL(i)->type == type && strcmp(POL(i)->provider, provider) == 0) {
            break;
        }
    }
    if (i < svc->n_policies && POL(i)->gen == gen) {
        *out = POL(i);
        at_cache_obj_ref(&(*out)->obj);
        pthread_mutex_unlock(&svc->mu);
        return at_ok();
    }
    pthread_mutex_unlock(&svc->mu);

    struct at_policy_record rec;
    memset(&rec, 0, sizeof(rec));
    const char *text;
    size_t len;
    struct at_err ge;
    at_err_init(&ge);
    at_status gs = at_store_policy_get(svc->store, provider, at_att_type_name(type), &rec, &ge);
    if (at_is_ok(gs)) {
        text = rec.text;
        len = rec.text_len;
    } else if (gs.code == AT_E_NOT_FOUND) {
        text = at_policy_default_text(at_att_type_name(type));
        if (text == NULL) {
            AT_FAIL(e, AT_E_NOT_FOUND, "policy", "no policy is set for %s and it has no default",
                    at_att_type_name(type));
        }
        len = strlen(text);
    } else {
        *e = ge;
        return gs;
    }
    struct svc_policy *p = calloc(1, sizeof(*p));
    at_status st = p != NULL ? at_policy_compile(text, len, AT_POLICY_LENIENT, &p->policy, NULL, e)
                             : at_fail_(e, AT_E_NOMEM, NULL, __FILE__, __LINE__, "out of memory");
    at_policy_record_clear(&rec);
    if (!at_is_ok(st)) {
        free(p);
        at_err_context(e, "stored policy");
        return st;
    }
    at_cache_obj_init(&p->obj, obj_free_policy);
    snprintf(p->provider, sizeof(p->provider), "%s", provider);
    p->type = type;
    p->gen = gen;
    pthread_mutex_lock(&svc->mu);
    for (i = 0; i < svc->n_policies; i++) {
        if (POL(i)->type == type && strcmp(POL(i)->provider, provider) == 0) {
            break;
        }
    }
    list_put(svc->policies, &svc->n_policies, i, &p->obj);
    pthread_mutex_unlock(&svc->mu);
    *out = p;
    return at_ok();
}

at_status svc_collateral_get(struct at_service *svc, uint64_t gen, const char *tee,
                             const uint8_t fmspc[6], const char *ca, struct svc_collateral **out,
                             struct at_err *e)
{
    pthread_mutex_lock(&svc->mu);
    size_t i;
    for (i = 0; i < svc->n_collateral; i++) {
        struct svc_collateral *c = COL(i);
        if (strcmp(c->tee, tee) == 0 && memcmp(c->fmspc, fmspc, 6) == 0 &&
            strcmp(c->ca, ca) == 0) {
            break;
        }
    }
    if (i < svc->n_collateral && COL(i)->gen == gen) {
        *out = COL(i);
        at_cache_obj_ref(&(*out)->obj);
        pthread_mutex_unlock(&svc->mu);
        return at_ok();
    }
    pthread_mutex_unlock(&svc->mu);
    struct svc_collateral *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
    }
    at_status st = at_store_collateral_get(svc->store, tee, fmspc, ca, &c->col, e);
    if (!at_is_ok(st)) {
        free(c);
        if (st.code == AT_E_NOT_FOUND) {
            e->code = AT_E_COLLATERAL;
            e->check = "collateral";
            st.code = AT_E_COLLATERAL;
        }
        return st;
    }
    if (!c->col.sealed && at_dcap_collateral_seal(&c->col) != 0) {
        at_dcap_collateral_clear(&c->col);
        free(c);
        AT_FAIL(e, AT_E_CRYPTO, NULL, "cannot hash collateral");
    }
    at_cache_obj_init(&c->obj, obj_free_collateral);
    snprintf(c->tee, sizeof(c->tee), "%s", tee);
    memcpy(c->fmspc, fmspc, 6);
    snprintf(c->ca, sizeof(c->ca), "%s", ca);
    c->gen = gen;
    pthread_mutex_lock(&svc->mu);
    for (i = 0; i < svc->n_collateral; i++) {
        struct svc_collateral *o = COL(i);
        if (strcmp(o->tee, tee) == 0 && memcmp(o->fmspc, fmspc, 6) == 0 && strcmp(o->ca, ca) == 0) {
            break;
        }
    }
    list_put(svc->collateral, &svc->n_collateral, i, &c->obj);
    pthread_mutex_unlock(&svc->mu);
    *out = c;
    return at_ok();
}

json_t *at_service_jwks(struct at_service *svc, const char *provider, struct at_err *e)
{
    struct svc_signer *s;
    uint64_t gen = at_store_generation(svc->store);
    if (!at_is_ok(svc_signer_get(svc, gen, provider != NULL ? provider : AT_PROVIDER_DEFAULT, &s,
                                 e))) {
        return NULL;
    }
    json_t *j = at_jwks_document(&s->signer, 1);
    at_cache_obj_unref(&s->obj);
    if (j == NULL) {
        at_fail_(e, AT_E_NOMEM, NULL, __FILE__, __LINE__, "out of memory");
    }
    return j;
}

json_t *at_service_openid(struct at_service *svc, const char *issuer)
{
    return at_openid_metadata(issuer != NULL ? issuer
                              : svc->issuer_base != NULL ? svc->issuer_base
                                                         : "https://localhost");
}

const char *at_service_error_code(const struct at_err *e)
{
    if (e->check != NULL && strcmp(e->check, "draft_policy") == 0) {
        return "PolicyParsingError";
    }
    switch ((int)e->code / 100) {
    case 1:
    case 2:
        return e->code == AT_E_POLICY ? "PolicyEvaluationError" : "InvalidParameter";
    case 3:
        return e->code == AT_E_FORBIDDEN ? "Forbidden" : "Unauthorized";
    case 4:
        return "NotFound";
    case 5:
        return "RequestEntityTooLarge";
    default:
        return "InternalError";
    }
}

at_status at_service_provider_create(struct at_store *store, const char *name,
                                     enum at_provider_mode mode, const char *alg_name, int64_t now,
                                     struct at_err *e)
{
    enum at_jws_alg alg;
    AT_TRY(at_jws_alg_parse(alg_name != NULL ? alg_name : "RS256", &alg, e));
    char cn[AT_PROVIDER_NAME_MAX + 32];
    snprintf(cn, sizeof(cn), "attestd provider %s", name);
    struct at_signer *signer;
    AT_TRY(at_signer_generate(alg, cn, now, 3650, &signer, e));
    struct at_provider p;
    memset(&p, 0, sizeof(p));
    snprintf(p.name, sizeof(p.name), "%s", name);
    p.mode = mode;
    snprintf(p.alg, sizeof(p.alg), "%s", at_jws_alg_name(alg));
    p.token_lifetime_s = 28800;
    p.created_at = now;
    at_status s = at_signer_export(signer, &p.signing_key, &p.signing_key_len, &p.signing_cert,
                                   &p.signing_cert_len, e);
    at_signer_free(signer);
    if (at_is_ok(s)) {
        s = at_store_provider_create(store, &p, e);
    }
    at_provider_clear(&p); /* zeroizes the key bytes */
    return s;
}

at_status at_service_ensure_default(struct at_store *store, int64_t now, struct at_err *e)
{
    struct at_provider p;
    memset(&p, 0, sizeof(p));
    struct at_err ge;
    at_err_init(&ge);
    at_status s = at_store_provider_get(store, AT_PROVIDER_DEFAULT, &p, &ge);
    at_provider_clear(&p);
    if (at_is_ok(s)) {
        return s;
    }
    if (s.code != AT_E_NOT_FOUND) {
        *e = ge;
        return s;
    }
    return at_service_provider_create(store, AT_PROVIDER_DEFAULT, AT_MODE_AAD, "RS256", now, e);
}
