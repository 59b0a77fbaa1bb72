#include "collateral/snp_bundle.h"

#include "base/fileio.h"
#include "base/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Path of dir/name into buf; false when it does not fit. */
static bool join(char *buf, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < cap;
}

/* Read the first of `names` that exists; *found = false (no error) when none does. */
static at_status read_first(const char *dir, const char *const *names, size_t n_names,
                            uint8_t **out, size_t *len, bool *found, struct at_err *e)
{
    char path[4096];
    *found = false;
    for (size_t i = 0; i < n_names; i++) {
        if (!join(path, sizeof(path), dir, names[i])) {
            AT_FAIL(e, AT_E_USAGE, "collateral", "collateral path too long");
        }
        if (at_path_exists(path)) {
            AT_TRY(at_file_read(path, AT_LIMIT_COLLATERAL_BYTES, out, len, e));
            *found = true;
            return at_ok();
        }
    }
    return at_ok();
}

at_status at_snp_bundle_from_dir(const char *dir, struct at_snp_bundle *b, struct at_err *e)
{
    static const char *const vek_names[] = {"vcek.der", "vcek.pem", "vlek.der", "vlek.pem"};
    static const char *const chain_names[] = {"cert_chain.pem"};
    static const char *const crl_names[] = {"crl.der", "crl.pem"};
    memset(b, 0, sizeof(*b));
    bool found = false;
    at_status s = read_first(dir, vek_names, 4, &b->vek, &b->vek_len, &found, e);
    if (at_is_ok(s) && !found) {
        s = at_fail_(e, AT_E_COLLATERAL, "collateral", __FILE__, __LINE__,
                     "%s has no vcek.der, vcek.pem, vlek.der or vlek.pem", dir);
    }
    if (at_is_ok(s)) {
        s = read_first(dir, chain_names, 1, &b->chain, &b->chain_len, &found, e);
    }
    if (at_is_ok(s) && !found) {
        s = at_fail_(e, AT_E_COLLATERAL, "collateral", __FILE__, __LINE__,
                     "%s has no cert_chain.pem", dir);
    }
    if (at_is_ok(s)) {
        s = read_first(dir, crl_names, 2, &b->crl, &b->crl_len, &found, e);
    }
    if (!at_is_ok(s)) {
        at_snp_bundle_clear(b);
    }
    return s;
}

void at_snp_bundle_clear(struct at_snp_bundle *b)
{
    free(b->vek);
    free(b->chain);
    free(b->crl);
    memset(b, 0, sizeof(*b));
}

void at_snp_bundle_collateral(const struct at_snp_bundle *b, struct at_snp_collateral *out)
{
    memset(out, 0, sizeof(*out));
    out->vek = b->vek;
    out->vek_len = b->vek_len;
    out->chain = b->chain;
    out->chain_len = b->chain_len;
    out->crl = b->crl;
    out->crl_len = b->crl_len;
}
