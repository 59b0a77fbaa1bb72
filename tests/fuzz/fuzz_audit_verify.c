/*
 * Fuzz target for the audit chain verifier (src/monitor/audit_chain.c): the line parser
 * (jansson under AT_AUDIT_LINE_MAX), the streaming verifier over a whole "file", the
 * stored-head comparison, and the same bytes in mid-file mode (the daemon's tail scan).
 * Invariants: a failure names a line within the input; a success has consecutive seqs
 * and records == last - first + 1. Deterministic; no state between runs.
 */
#include "monitor/audit_chain.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    size_t lines = 1;
    for (size_t i = 0; i < size; i++) {
        lines += data[i] == '\n';
    }
    struct at_audit_verifier v;
    at_audit_verifier_init(&v);
    v.want_seq = 2;
    bool ok = at_audit_verify_buf(&v, buf, size, true);
    if (ok) {
        if (v.failed || v.records == 0 || v.last_seq - v.first_seq + 1 != v.records ||
            strlen(v.last_hash) != 64) {
            __builtin_trap();
        }
        char zero[AT_AUDIT_HASH_HEX];
        memcpy(zero, AT_AUDIT_ZERO_HASH, sizeof(zero));
        (void)at_audit_verify_head(&v, 2, zero);
    } else if (!v.failed || v.fail_line == 0 || v.fail_line > lines || v.reason[0] == '\0') {
        __builtin_trap();
    }
    struct at_audit_verifier m;
    at_audit_verifier_init(&m);
    m.mid_file = true;
    m.allow_breaks = true;
    (void)at_audit_verify_buf(&m, buf, size, false);
    struct at_audit_line l;
    char why[128];
    (void)at_audit_line_parse(buf, size, &l, why, sizeof(why));
    return 0;
}
