/*
 * Default policies per attestation type (claim-sets.md §2.5, §3, §4.8, §5.3,
 * §6.3; policy-language §1.7, A22).
 *
 * SgxEnclave / OpenEnclave: the text real MAA instances served (version 1.0,
 * one line, no final newline; hash bROrN897ZfWmWY2V0FLUlu3uwk5xatGnKYHn3zBbSlw),
 * chosen over the documented 1.1 text so x-ms-policy-hash matches older MAA
 * tokens bit for bit [R, claim-sets §2.5]; the issued claims are identical.
 * SevSnpVm: recovered by hash (9NY0VnTQ-...). TdxVm: same as SevSnpVm [R, A22].
 * AzureGuest: the MAA default is unknown; we use the SevSnpVm text [R].
 * Tpm / VbsEnclave: no default; attestation needs a policy first (§1.7).
 */
#include "policy/policy.h"

#include <string.h>

static const char sgx_default[] =
    "version= 1.0;authorizationrules{=> permit();};issuancerules{"
    "c:[type==\"x-ms-sgx-is-debuggable\"] => issue(type=\"is-debuggable\", value=c.value);"
    "c:[type==\"x-ms-sgx-mrsigner\"] => issue(type=\"sgx-mrsigner\", value=c.value);"
    "c:[type==\"x-ms-sgx-mrenclave\"] => issue(type=\"sgx-mrenclave\", value=c.value);"
    "c:[type==\"x-ms-sgx-product-id\"] => issue(type=\"product-id\", value=c.value);"
    "c:[type==\"x-ms-sgx-svn\"] => issue(type=\"svn\", value=c.value);"
    "c:[type==\"x-ms-attestation-type\"] => issue(type=\"tee\", value=c.value);};";

static const char permit_all_default[] = "version= 1.0;authorizationrules{=> permit();};";

const char *at_policy_default_text(const char *attestation_type)
{
    if (attestation_type == NULL) {
        return NULL;
    }
    if (strcmp(attestation_type, "SgxEnclave") == 0 ||
        strcmp(attestation_type, "OpenEnclave") == 0) {
        return sgx_default;
    }
    if (strcmp(attestation_type, "SevSnpVm") == 0 || strcmp(attestation_type, "TdxVm") == 0 ||
        strcmp(attestation_type, "AzureGuest") == 0) {
        return permit_all_default;
    }
    return NULL; /* Tpm, VbsEnclave, unknown */
}
