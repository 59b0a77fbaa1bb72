/* Every cap on untrusted input, in one place. */
#ifndef AT_BASE_LIMITS_H
#define AT_BASE_LIMITS_H

/* Largest evidence blob accepted (a quote with a PEM chain is ~5 KiB). */
#define AT_LIMIT_EVIDENCE_BYTES (256u * 1024u)
/* Largest collateral file (TCB info for a TDX platform is ~10 KiB; CRLs can grow). */
#define AT_LIMIT_COLLATERAL_BYTES (4u * 1024u * 1024u)
/* Certificates in one PEM chain. */
#define AT_LIMIT_CHAIN_CERTS 8
/* TCB levels in one TCB info / identity. */
#define AT_LIMIT_TCB_LEVELS 512
/* Advisory IDs per TCB level. */
#define AT_LIMIT_ADVISORIES 256
/* TDX module identities per TCB info. */
#define AT_LIMIT_MODULE_IDS 32
/* JSON nesting depth accepted from clients. */
#define AT_LIMIT_JSON_DEPTH 64
/* Entries in the verified-collateral cache. */
#define AT_LIMIT_CACHE_ENTRIES 1024

/* ---- Policy engine (src/policy/, owner: policy engine) ---- */
/* Largest policy text accepted (the biggest published sample is ~5 KiB). */
#define AT_LIMIT_POLICY_BYTES (256u * 1024u)
/* Rules across all sections of one policy. */
#define AT_LIMIT_POLICY_RULES 1024u
/* Conditions in one rule, property tests in one condition, arguments in one call. */
#define AT_LIMIT_POLICY_ITEMS 64u
/* Nesting depth of function calls in one expression. */
#define AT_LIMIT_POLICY_DEPTH 16u
/* Units of evaluation work per attestation (claim tests, values built, JMESPath steps). */
#define AT_LIMIT_POLICY_STEPS 2000000u
/* Largest JSON text or string value a policy evaluation reads or builds. */
#define AT_LIMIT_POLICY_JSON_BYTES (1024u * 1024u)
/* Claims in the incoming set during one evaluation (service claims + added). */
#define AT_LIMIT_POLICY_CLAIMS 8192u
/* Function calls evaluated in one evaluation. */
#define AT_LIMIT_POLICY_CALLS 512u
/* JMESPath steps one JmesPath() call may use (at_jmes_eval steps_max). */
#define AT_LIMIT_POLICY_JMES_STEPS 200000u
/* Bytes of scratch memory one evaluation may allocate. */
#define AT_LIMIT_POLICY_EVAL_BYTES (16u * 1024u * 1024u)
/* ---- end policy engine ---- */

#endif
