/*
 * Token assembly of policy-issued claims (spec §9).
 *
 * x-ms-policy holds every issued claim; a type issued more than once becomes
 * a JSON array in issuance order (A13). For SgxEnclave and OpenEnclave the
 * claims are also copied to the top level [O]; for every other type they
 * stay inside x-ms-policy only ([O] for TPM, [R] for SEV-SNP/TDX, A17). At
 * the top level an existing (service) claim of the same name wins [R].
 */
#include "policy/policy.h"

#include <string.h>

json_t *at_policy_claims_object(const struct at_claims *cs)
{
    return at_claims_to_json(cs);
}

at_status at_policy_assemble(json_t *token, const char *attestation_type,
                             const struct at_claims *issued, const char *policy_hash,
                             struct at_err *e)
{
    if (!json_is_object(token)) {
        AT_FAIL(e, AT_E_USAGE, "policy_assemble", "token must be a JSON object");
    }
    if (policy_hash != NULL && json_object_set_new(token, "x-ms-policy-hash",
                                                   json_string(policy_hash)) != 0) {
        AT_FAIL(e, AT_E_NOMEM, "policy_assemble", "out of memory");
    }
    if (issued == NULL || issued->count == 0) {
        return at_ok(); /* x-ms-policy omitted when nothing was issued [O] */
    }
    json_t *obj = at_claims_to_json(issued);
    if (obj == NULL) {
        AT_FAIL(e, AT_E_NOMEM, "policy_assemble", "out of memory");
    }
    bool top = attestation_type != NULL && (strcmp(attestation_type, "SgxEnclave") == 0 ||
                                            strcmp(attestation_type, "OpenEnclave") == 0);
    if (top) {
        const char *k;
        json_t *v;
        json_object_foreach(obj, k, v)
        {
            if (json_object_get(token, k) == NULL && json_object_set(token, k, v) != 0) {
                json_decref(obj);
                AT_FAIL(e, AT_E_NOMEM, "policy_assemble", "out of memory");
            }
        }
    }
    if (json_object_set_new(token, "x-ms-policy", obj) != 0) {
        AT_FAIL(e, AT_E_NOMEM, "policy_assemble", "out of memory");
    }
    return at_ok();
}
