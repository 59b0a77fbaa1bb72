/* The audit log's hash chain: line hashing, parsing and the streaming verifier. */
#include "monitor/audit_chain.h"

#include "base/encoding.h"
#include "crypto/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool at_audit_line_hash(const char *line, size_t len, char out[AT_AUDIT_HASH_HEX])
{
    uint8_t h[AT_SHA256_LEN];
    if (at_sha256(line, len, h) != 0) {
        return false;
    }
    at_hex_encode(h, sizeof(h), out);
    return true;
}

void at_audit_hash_hex(const uint8_t raw[32], char out[AT_AUDIT_HASH_HEX])
{
    at_hex_encode(raw, 32, out);
}

static bool is_lower_hex64(const char *s, size_t n)
{
    if (n != 64) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

bool at_audit_hash_raw(const char *hex, uint8_t raw[32])
{
    if (hex == NULL || !is_lower_hex64(hex, strlen(hex))) {
        return false;
    }
    for (size_t i = 0; i < 32; i++) {
        unsigned hi = (unsigned)(hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10);
        unsigned lo =
            (unsigned)(hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0' : hex[2 * i + 1] - 'a' + 10);
        raw[i] = (uint8_t)((hi << 4) | lo);
    }
    return true;
}

static bool why_set(char *why, size_t cap, const char *fmt, ...) AT_PRINTF(3, 4);

static bool why_set(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return false;
}

static bool str_is(const json_t *o, const char *k, const char *want)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v != NULL && strcmp(v, want) == 0;
}

bool at_audit_line_parse(const char *line, size_t len, struct at_audit_line *out, char *why,
                         size_t why_cap)
{
    memset(out, 0, sizeof(*out));
    if (len == 0) {
        return why_set(why, why_cap, "empty line");
    }
    if (len > AT_AUDIT_LINE_MAX) {
        return why_set(why, why_cap, "line longer than %u bytes", AT_AUDIT_LINE_MAX);
    }
    if (memchr(line, '\0', len) != NULL) {
        return why_set(why, why_cap, "NUL byte in line");
    }
    json_error_t jerr;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (o == NULL || !json_is_object(o)) {
        json_decref(o);
        return why_set(why, why_cap, "not a JSON object");
    }
    bool ok = false;
    json_t *seq = json_object_get(o, "seq");
    json_t *prev = json_object_get(o, "prev");
    if (!json_is_integer(seq) || json_integer_value(seq) < 1) {
        why_set(why, why_cap, "missing or invalid seq");
    } else if (!json_is_string(prev) ||
               !is_lower_hex64(json_string_value(prev), json_string_length(prev))) {
        why_set(why, why_cap, "missing or invalid prev");
    } else if (!json_is_string(json_object_get(o, "kind")) ||
               !json_is_string(json_object_get(o, "time"))) {
        why_set(why, why_cap, "missing kind or time");
    } else {
        out->seq = (uint64_t)json_integer_value(seq);
        memcpy(out->prev, json_string_value(prev), 65);
        bool sys = str_is(o, "kind", "system");
        out->is_continue = sys && str_is(o, "operation", "audit.continue");
        out->is_chain_break = sys && str_is(o, "operation", "audit.chain_break");
        ok = true;
    }
    json_decref(o);
    return ok;
}

void at_audit_verifier_init(struct at_audit_verifier *v)
{
    memset(v, 0, sizeof(*v));
}

static bool fail(struct at_audit_verifier *v, uint64_t line, const char *fmt, ...) AT_PRINTF(3, 4);

static bool fail(struct at_audit_verifier *v, uint64_t line, const char *fmt, ...)
{
    if (v->failed) {
        return false;
    }
    v->failed = true;
    v->fail_line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
    va_end(ap);
    return false;
}

bool at_audit_verify_line(struct at_audit_verifier *v, const char *line, size_t len)
{
    if (v->failed) {
        return false;
    }
    uint64_t n = ++v->lines;
    struct at_audit_line r;
    char why[128];
    if (!at_audit_line_parse(line, len, &r, why, sizeof(why))) {
        return fail(v, n, "%s", why);
    }
    if (v->records == 0) {
        if (!v->mid_file) {
            if (r.seq == 1 && strcmp(r.prev, AT_AUDIT_ZERO_HASH) != 0) {
                return fail(v, n, "the first record (seq 1) must have prev of 64 zeros");
            }
            if (r.seq != 1 && !r.is_continue) {
                return fail(v, n,
                            "the file starts at seq %llu with a record that is not "
                            "audit.continue (records deleted before it?)",
                            (unsigned long long)r.seq);
            }
        }
        v->first_seq = r.seq;
    } else {
        if (r.seq != v->last_seq + 1) {
            return fail(v, n, "seq %llu, expected %llu", (unsigned long long)r.seq,
                        (unsigned long long)(v->last_seq + 1));
        }
        if (strcmp(r.prev, v->last_hash) != 0) {
            return fail(v, n, "prev does not match the SHA-256 of line %llu",
                        (unsigned long long)(n - 1));
        }
    }
    if (r.is_chain_break && !v->allow_breaks) {
        return fail(v, n, "the daemon recorded a chain break here (audit.chain_break)");
    }
    if (!at_audit_line_hash(line, len, v->last_hash)) {
        return fail(v, n, "out of memory");
    }
    v->last_seq = r.seq;
    v->records++;
    if (v->want_seq != 0 && r.seq == v->want_seq) {
        v->want_found = true;
        memcpy(v->want_hash, v->last_hash, AT_AUDIT_HASH_HEX);
    }
    return true;
}

bool at_audit_verify_buf(struct at_audit_verifier *v, const char *buf, size_t len, bool complete)
{
    size_t off = 0;
    while (off < len) {
        const char *nl = memchr(buf + off, '\n', len - off);
        if (nl == NULL) {
            if (complete) {
                return fail(v, v->lines + 1,
                            "the file does not end with a newline (truncated record)");
            }
            break;
        }
        size_t n = (size_t)(nl - (buf + off));
        if (!at_audit_verify_line(v, buf + off, n)) {
            return false;
        }
        off += n + 1;
    }
    if (complete && v->records == 0 && !v->failed) {
        return fail(v, 1, "the file holds no records");
    }
    return !v->failed;
}

bool at_audit_verify_head(struct at_audit_verifier *v, uint64_t head_seq,
                          const char head_hash[AT_AUDIT_HASH_HEX])
{
    if (v->failed) {
        return false;
    }
    if (v->last_seq < head_seq) {
        return fail(v, v->lines,
                    "the file ends at seq %llu but the stored chain head is seq %llu "
                    "(records removed from the end)",
                    (unsigned long long)v->last_seq, (unsigned long long)head_seq);
    }
    if (head_seq == 0) {
        return true;
    }
    if (!v->want_found) {
        return fail(v, v->lines, "the stored chain head (seq %llu) is not in this file",
                    (unsigned long long)head_seq);
    }
    if (strcmp(v->want_hash, head_hash) != 0) {
        return fail(v, v->lines, "the record with seq %llu does not match the stored chain head",
                    (unsigned long long)head_seq);
    }
    return true;
}

/* Stream a file through the verifier in chunks; lines longer than the cap fail. */
at_status at_audit_verify_file(const char *path, size_t max_bytes, struct at_audit_verifier *v,
                               struct at_err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    AT_ENSURE(fd >= 0, e, AT_E_IO, "audit_file", "cannot open %s: %s", path, strerror(errno));
    size_t cap = AT_AUDIT_LINE_MAX + 2;
    char *buf = malloc(cap);
    if (buf == NULL) {
        close(fd);
        AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
    }
    size_t have = 0, total = 0;
    bool eof = false, io_err = false;
    while (!eof && !v->failed) {
        ssize_t r = read(fd, buf + have, cap - have);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            io_err = true;
            break;
        }
        eof = r == 0;
        have += (size_t)r;
        total += (size_t)r;
        if (total > max_bytes) {
            fail(v, v->lines + 1, "the file is larger than %zu bytes", max_bytes);
            break;
        }
        /* Feed every complete line; keep the partial one. */
        size_t off = 0;
        const char *nl;
        while (!v->failed && (nl = memchr(buf + off, '\n', have - off)) != NULL) {
            size_t n = (size_t)(nl - (buf + off));
            at_audit_verify_line(v, buf + off, n);
            off += n + 1;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
        if (!v->failed && have >= cap) {
            fail(v, v->lines + 1, "line longer than %u bytes", AT_AUDIT_LINE_MAX);
        }
        if (eof && !v->failed && have > 0) {
            fail(v, v->lines + 1, "the file does not end with a newline (truncated record)");
        }
    }
    free(buf);
    close(fd);
    AT_ENSURE(!io_err, e, AT_E_IO, "audit_file", "cannot read %s", path);
    if (!v->failed && v->records == 0) {
        fail(v, 1, "the file holds no records");
    }
    return at_ok();
}

at_status at_audit_tail_read(const char *path, size_t window, uint64_t want_seq,
                             struct at_audit_tail *t, struct at_err *e)
{
    memset(t, 0, sizeof(*t));
    at_audit_verifier_init(&t->v);
    t->v.mid_file = true;
    t->v.allow_breaks = true;
    t->v.want_seq = want_seq;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        return at_ok();
    }
    AT_ENSURE(fd >= 0, e, AT_E_IO, "audit_file", "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        AT_FAIL(e, AT_E_IO, "audit_file", "%s is not a regular file", path);
    }
    t->exists = true;
    t->size = (uint64_t)sb.st_size;
    if (t->size == 0) {
        close(fd);
        return at_ok();
    }
    size_t n = t->size < window ? (size_t)t->size : window;
    off_t start = (off_t)(t->size - n);
    char *buf = malloc(n);
    if (buf == NULL) {
        close(fd);
        AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, start + (off_t)got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    if (got != n) {
        free(buf);
        AT_FAIL(e, AT_E_IO, "audit_file", "cannot read the end of %s", path);
    }
    t->ends_with_newline = buf[n - 1] == '\n';
    size_t off = 0;
    if (start > 0) {
        /* Skip the partial first line of the window. */
        const char *nl = memchr(buf, '\n', n);
        off = nl != NULL ? (size_t)(nl - buf) + 1 : n;
    }
    at_audit_verify_buf(&t->v, buf + off, n - off, false);
    /* The last complete line on its own (the chain continues from it even after a break). */
    size_t end = n;
    while (end > off && buf[end - 1] != '\n') {
        end--; /* drop a torn tail */
    }
    if (end > off) {
        size_t s0 = end - 1;
        while (s0 > off && buf[s0 - 1] != '\n') {
            s0--;
        }
        struct at_audit_line l;
        char why[128];
        if (at_audit_line_parse(buf + s0, end - 1 - s0, &l, why, sizeof(why)) &&
            at_audit_line_hash(buf + s0, end - 1 - s0, t->last_hash)) {
            t->last_ok = true;
            t->last_seq = l.seq;
        }
    }
    free(buf);
    return at_ok();
}
