/* Names of TCB statuses and the collateral bundle's destructor (dcap_types.h). */
#include "evidence/dcap_types.h"

#include <stdlib.h>
#include <string.h>

const char *at_tcb_status_name(enum at_tcb_status s)
{
    switch (s) {
    case AT_TCB_UP_TO_DATE:
        return "UpToDate";
    case AT_TCB_SW_HARDENING_NEEDED:
        return "SWHardeningNeeded";
    case AT_TCB_CONFIGURATION_NEEDED:
        return "ConfigurationNeeded";
    case AT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED:
        return "ConfigurationAndSWHardeningNeeded";
    case AT_TCB_OUT_OF_DATE:
        return "OutOfDate";
    case AT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED:
        return "OutOfDateConfigurationNeeded";
    case AT_TCB_REVOKED:
        return "Revoked";
    case AT_TCB_TD_RELAUNCH_ADVISED:
        return "TDRelaunchAdvised";
    case AT_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED:
        return "TDRelaunchAdvisedConfigurationNeeded";
    case AT_TCB_NOT_SUPPORTED:
        return "TCB_NOT_SUPPORTED";
    }
    /* Not one of ours: fail closed with a name no policy accepts. */
    return "TCB_NOT_SUPPORTED";
}

void at_dcap_collateral_clear(struct at_dcap_collateral *c)
{
    if (c == NULL) {
        return;
    }
    free(c->pck_crl_issuer_chain);
    free(c->root_ca_crl);
    free(c->pck_crl);
    free(c->tcb_info_issuer_chain);
    free(c->tcb_info);
    free(c->qe_identity_issuer_chain);
    free(c->qe_identity);
    free(c->pck_cert_chain);
    memset(c, 0, sizeof(*c));
}
