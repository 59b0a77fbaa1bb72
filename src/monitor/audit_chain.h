/*
 * The audit log's hash chain (docs/audit-log.md), shared by the daemon's writer
 * (audit.c) and `attestctl audit verify` (cli/cmd_audit.c).
 *
 * A record is one line: a JSON object whose first members are "seq" (1, 2, ...) and
 * "prev" (lowercase hex SHA-256 of the previous record's exact line bytes without the
 * newline; 64 zeros for seq 1). The first record of a file is either seq 1 or a
 * "system" record with operation "audit.continue" (a new file after rotation or a
 * restart on an empty file), whose prev points into the previous file.
 *
 * The verifier is streaming: feed lines in order, then finish. Lines are parsed with
 * jansson under AT_AUDIT_LINE_MAX; nothing here trusts the file.
 */
#ifndef AT_MONITOR_AUDIT_CHAIN_H
#define AT_MONITOR_AUDIT_CHAIN_H

#include "base/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AT_AUDIT_LINE_MAX  (64u * 1024u) /* one record, newline excluded */
#define AT_AUDIT_HASH_HEX  65u           /* 64 hex digits + NUL */
#define AT_AUDIT_CHAIN     "audit"       /* the chain name in the store */
#define AT_AUDIT_ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/* Lowercase hex SHA-256 of a line's bytes (newline excluded). False only on OOM. */
bool at_audit_line_hash(const char *line, size_t len, char out[AT_AUDIT_HASH_HEX]);

/* 32 raw bytes <-> 64 lowercase hex digits. */
void at_audit_hash_hex(const uint8_t raw[32], char out[AT_AUDIT_HASH_HEX]);
bool at_audit_hash_raw(const char *hex, uint8_t raw[32]);

/* What the verifier needs from one line. */
struct at_audit_line {
    uint64_t seq;
    char prev[AT_AUDIT_HASH_HEX];
    bool is_continue;    /* kind "system", operation "audit.continue" */
    bool is_chain_break; /* kind "system", operation "audit.chain_break" */
};

/* Parse one line (no newline). False with a reason ("not a JSON object", ...). */
bool at_audit_line_parse(const char *line, size_t len, struct at_audit_line *out, char *why,
                         size_t why_cap);

struct at_audit_verifier {
    /* configuration (set after init) */
    bool mid_file;     /* the first line fed is not a file start: trust it as the anchor */
    bool allow_breaks; /* do not fail on audit.chain_break records (daemon tail scan) */
    uint64_t want_seq; /* capture the hash of the record with this seq (0: none) */
    /* results */
    uint64_t lines; /* lines fed */
    uint64_t records;
    uint64_t first_seq, last_seq;
    char last_hash[AT_AUDIT_HASH_HEX];
    bool want_found;
    char want_hash[AT_AUDIT_HASH_HEX];
    bool failed;
    uint64_t fail_line; /* 1-based line of the first failure */
    char reason[256];
};

void at_audit_verifier_init(struct at_audit_verifier *v);
/* Feed the next line (no newline); false once a failure is recorded. */
bool at_audit_verify_line(struct at_audit_verifier *v, const char *line, size_t len);
/*
 * Feed a whole buffer of lines. `complete`: the buffer is the whole file, so a missing
 * final newline is a truncated record and an empty buffer is a failure.
 */
bool at_audit_verify_buf(struct at_audit_verifier *v, const char *buf, size_t len, bool complete);
/*
 * Compare the verified file's end with a stored head (set want_seq = head_seq before
 * feeding): false when the file ends before the head or the record at the head's seq
 * is not the head's hash.
 */
bool at_audit_verify_head(struct at_audit_verifier *v, uint64_t head_seq,
                          const char head_hash[AT_AUDIT_HASH_HEX]);

/* Verify a file from disk (read whole, at most `max_bytes`). */
AT_NODISCARD at_status at_audit_verify_file(const char *path, size_t max_bytes,
                                            struct at_audit_verifier *v, struct at_err *e);

/*
 * The last records of a file, for the daemon's start-up check: reads at most
 * `window` bytes from the end. exists/size describe the file; ends_with_newline is
 * false for a torn last record. The verifier runs in mid-file mode over the complete
 * lines of the window with want_seq as given.
 */
struct at_audit_tail {
    bool exists;
    uint64_t size;
    bool ends_with_newline;
    struct at_audit_verifier v;
    bool last_ok;                      /* the last complete line parses as a record: */
    uint64_t last_seq;                 /* its seq */
    char last_hash[AT_AUDIT_HASH_HEX]; /* and the SHA-256 of its bytes */
};
AT_NODISCARD at_status at_audit_tail_read(const char *path, size_t window, uint64_t want_seq,
                                          struct at_audit_tail *t, struct at_err *e);

#endif
