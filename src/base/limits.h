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

#endif
