/*
 * A small bounds-checked JSON scanner for Intel PCS collateral (evidence-formats.md §1.8).
 *
 * The PCS signs the exact bytes of the body object, so the body must be located by
 * a tokenizer that reports byte offsets, never by parse-and-re-emit. The scanner
 * here validates the RFC 8259 grammar (strings with escapes and UTF-8, numbers,
 * literals), bounds nesting at AT_LIMIT_JSON_DEPTH, never reads past `len`, and
 * reports the byte offset of the first problem. at_pcs_json_split (declared in
 * evidence/tcb_info.h) is built on it.
 */
#ifndef AT_EVIDENCE_PCS_JSON_H
#define AT_EVIDENCE_PCS_JSON_H

#include "base/status.h"

#include <stdint.h>

/*
 * Check that doc[0, len) is exactly one JSON object (optionally surrounded by
 * whitespace) with nesting at most AT_LIMIT_JSON_DEPTH. Fails with AT_E_TRUNCATED
 * when the input ends early, AT_E_TRAILING for bytes after the object, AT_E_LIMIT
 * for too deep or too large input, else AT_E_PARSE. `field` and `offset` of `e`
 * are set. Used before handing untrusted bytes to jansson, which has no run-time
 * depth limit.
 */
AT_NODISCARD at_status at_json_check_object(const uint8_t *doc, size_t len, struct at_err *e);

#endif
