/*
 * Parsers for the network configuration keys: CIDR lists, listener lines,
 * rate specs (server/netcfg.h). Config text is trusted but still bounded.
 */
#include "base/encoding.h"
#include "server/netcfg.h"

#include "server/config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_blank(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_blank((*s)[*len - 1])) {
        (*len)--;
    }
}

/* ---- addresses ---- */

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool at_ip_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct at_ip *out)
{
    if (sa == NULL) {
        return false;
    }
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        memcpy(out->b, v4_mapped, 12);
        memcpy(out->b + 12, &in->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(out->b, &in6->sin6_addr, 16);
        return true;
    }
    return false;
}

void at_ip_format(const struct at_ip *ip, char *out, size_t cap)
{
    if (memcmp(ip->b, v4_mapped, 12) == 0) {
        if (inet_ntop(AF_INET, ip->b + 12, out, (socklen_t)cap) == NULL) {
            snprintf(out, cap, "?");
        }
    } else if (inet_ntop(AF_INET6, ip->b, out, (socklen_t)cap) == NULL) {
        snprintf(out, cap, "?");
    }
}

bool at_cidr_contains(const struct at_cidr *c, const struct at_ip *ip)
{
    unsigned full = c->bits / 8u;
    unsigned rest = c->bits % 8u;
    if (memcmp(c->net.b, ip->b, full) != 0) {
        return false;
    }
    if (rest == 0) {
        return true;
    }
    uint8_t mask = (uint8_t)(0xffu << (8u - rest));
    return (ip->b[full] & mask) == c->net.b[full];
}

bool at_cidr_list_contains(const struct at_cidr_list *l, const struct at_ip *ip)
{
    for (size_t i = 0; i < l->n; i++) {
        if (at_cidr_contains(&l->v[i], ip)) {
            return true;
        }
    }
    return false;
}

bool at_ip_is_private(const struct at_ip *ip)
{
    static const struct {
        uint8_t b[16];
        uint8_t bits;
    } ranges[] = {
        {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 0}, 104},   /* 127.0.0.0/8 */
        {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 0}, 104},    /* 10.0.0.0/8 */
        {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 172, 16, 0, 0}, 108},  /* 172.16.0.0/12 */
        {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 0, 0}, 112}, /* 192.168.0.0/16 */
        {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128},           /* ::1 */
        {{0xfc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 7},          /* fc00::/7 */
    };
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        struct at_cidr c;
        memcpy(c.net.b, ranges[i].b, 16);
        c.bits = ranges[i].bits;
        if (at_cidr_contains(&c, ip)) {
            return true;
        }
    }
    return false;
}

static at_status parse_cidr(const char *s, size_t len, struct at_cidr *out, const char *key,
                            struct at_err *e)
{
    char buf[64];
    AT_ENSURE(len > 0 && len < sizeof(buf), e, AT_E_BAD_VALUE, "config_cidr",
              "%s: expected ADDRESS[/PREFIX]", key);
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *slash = strchr(buf, '/');
    if (slash != NULL) {
        *slash = '\0';
    }
    struct at_cidr c;
    memset(&c, 0, sizeof(c));
    uint32_t maxbits;
    uint32_t offset;
    if (strchr(buf, ':') != NULL) {
        AT_ENSURE(inet_pton(AF_INET6, buf, c.net.b) == 1, e, AT_E_BAD_VALUE, "config_cidr",
                  "%s: '%s' is not a numeric IPv6 address", key, buf);
        maxbits = 128;
        offset = 0;
    } else {
        memcpy(c.net.b, v4_mapped, 12);
        AT_ENSURE(inet_pton(AF_INET, buf, c.net.b + 12) == 1, e, AT_E_BAD_VALUE, "config_cidr",
                  "%s: '%s' is not a numeric IPv4 address", key, buf);
        maxbits = 32;
        offset = 96;
    }
    uint32_t bits = maxbits;
    if (slash != NULL) {
        AT_TRY(at_dec_parse_u32(slash + 1, strlen(slash + 1), 0, maxbits, &bits, key, e));
    }
    c.bits = (uint8_t)(bits + offset);
    /* Host bits must be zero: 10.0.0.1/8 is a typo more often than not. */
    struct at_cidr chk = c;
    unsigned full = c.bits / 8u;
    unsigned rest = c.bits % 8u;
    if (rest != 0) {
        chk.net.b[full] = (uint8_t)(chk.net.b[full] & (0xffu << (8u - rest)));
        full++;
    }
    for (unsigned i = full; i < 16; i++) {
        chk.net.b[i] = 0;
    }
    AT_ENSURE(memcmp(chk.net.b, c.net.b, 16) == 0, e, AT_E_BAD_VALUE, "config_cidr",
              "%s: '%.*s' has host bits set", key, (int)len, s);
    *out = c;
    return at_ok();
}

at_status at_cidr_list_parse(const char *s, size_t len, struct at_cidr_list *out, const char *key,
                             struct at_err *e)
{
    struct at_cidr_list l;
    memset(&l, 0, sizeof(l));
    size_t off = 0;
    while (off <= len) {
        const char *comma = memchr(s + off, ',', len - off);
        size_t end = comma != NULL ? (size_t)(comma - s) : len;
        const char *item = s + off;
        size_t ilen = end - off;
        trim(&item, &ilen);
        AT_ENSURE(ilen > 0, e, AT_E_BAD_VALUE, "config_cidr", "%s: empty entry in list", key);
        AT_ENSURE(l.n < AT_NET_CIDR_MAX, e, AT_E_LIMIT, "config_cidr", "%s: more than %u entries",
                  key, AT_NET_CIDR_MAX);
        AT_TRY(parse_cidr(item, ilen, &l.v[l.n], key, e));
        l.n++;
        if (comma == NULL) {
            break;
        }
        off = end + 1;
    }
    *out = l;
    return at_ok();
}

/* ---- listeners ---- */

const char *at_roles_format(unsigned roles, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s%s%s", (roles & AT_ROLE_DATA) ? "data," : "",
             (roles & AT_ROLE_MANAGEMENT) ? "management," : "",
             (roles & AT_ROLE_METRICS) ? "metrics," : "", roles == 0 ? "none," : "");
    size_t n = strlen(buf);
    if (n > 0) {
        buf[n - 1] = '\0';
    }
    return buf;
}

static at_status parse_roles(const char *s, size_t len, unsigned *out, struct at_err *e)
{
    unsigned roles = 0;
    size_t off = 0;
    while (off <= len) {
        const char *comma = memchr(s + off, ',', len - off);
        size_t end = comma != NULL ? (size_t)(comma - s) : len;
        const char *r = s + off;
        size_t n = end - off;
        if (n == 4 && memcmp(r, "data", 4) == 0) {
            roles |= AT_ROLE_DATA;
        } else if (n == 10 && memcmp(r, "management", 10) == 0) {
            roles |= AT_ROLE_MANAGEMENT;
        } else if (n == 7 && memcmp(r, "metrics", 7) == 0) {
            roles |= AT_ROLE_METRICS;
        } else if (n == 3 && memcmp(r, "all", 3) == 0) {
            roles |= AT_ROLE_ALL;
        } else {
            AT_FAIL(e, AT_E_BAD_VALUE, "config_listener",
                    "listener: unknown role '%.*s' (data, management, metrics, all)",
                    (int)(n > 32 ? 32 : n), r);
        }
        if (comma == NULL) {
            break;
        }
        off = end + 1;
    }
    *out = roles;
    return at_ok();
}

/* The next blank-separated word of s[*off..len). */
static bool next_word(const char *s, size_t len, size_t *off, const char **w, size_t *wlen)
{
    while (*off < len && is_blank(s[*off])) {
        (*off)++;
    }
    if (*off >= len) {
        return false;
    }
    *w = s + *off;
    while (*off < len && !is_blank(s[*off])) {
        (*off)++;
    }
    *wlen = (size_t)(s + *off - *w);
    return true;
}

at_status at_listener_spec_parse(const char *s, size_t len, struct at_listener_spec *out,
                                 struct at_err *e)
{
    struct at_listener_spec l;
    memset(&l, 0, sizeof(l));
    size_t off = 0;
    const char *addr, *roles, *flag;
    size_t addr_len, roles_len, flag_len;
    AT_ENSURE(next_word(s, len, &off, &addr, &addr_len) &&
                  next_word(s, len, &off, &roles, &roles_len),
              e, AT_E_BAD_VALUE, "config_listener",
              "listener: expected ADDR:PORT ROLES [mtls] or unix:/PATH ROLES");
    AT_TRY(parse_roles(roles, roles_len, &l.roles, e));
    if (addr_len > 5 && memcmp(addr, "unix:", 5) == 0) {
        size_t plen = addr_len - 5;
        AT_ENSURE(addr[5] == '/' && plen <= AT_NET_UNIX_PATH_MAX, e, AT_E_BAD_VALUE,
                  "config_listener",
                  "listener: unix socket path must be absolute and at most %u "
                  "bytes",
                  AT_NET_UNIX_PATH_MAX);
        for (size_t i = 5; i < addr_len; i++) {
            AT_ENSURE((unsigned char)addr[i] > 0x20 && addr[i] != 0x7f, e, AT_E_BAD_VALUE,
                      "config_listener", "listener: control character in unix socket path");
        }
        l.is_unix = true;
        memcpy(l.path, addr + 5, plen);
        l.path[plen] = '\0';
        snprintf(l.host, sizeof(l.host), "%.40s", l.path);
    } else {
        struct at_listen_addr a;
        at_status st = at_listen_parse(addr, addr_len, &a, e);
        if (!at_is_ok(st)) {
            at_err_context(e, "listener");
            return st;
        }
        l.ss = a.ss;
        l.ss_len = a.ss_len;
        l.family = a.family;
        l.port = a.port;
        memcpy(l.host, a.host, sizeof(l.host));
    }
    if (next_word(s, len, &off, &flag, &flag_len)) {
        AT_ENSURE(flag_len == 4 && memcmp(flag, "mtls", 4) == 0, e, AT_E_BAD_VALUE,
                  "config_listener", "listener: unknown option '%.*s' (only: mtls)",
                  (int)(flag_len > 32 ? 32 : flag_len), flag);
        AT_ENSURE(!l.is_unix, e, AT_E_BAD_VALUE, "config_listener",
                  "listener: mtls needs a TCP (TLS) listener, not a unix socket");
        l.mtls = true;
    }
    const char *extra;
    size_t extra_len;
    AT_ENSURE(!next_word(s, len, &off, &extra, &extra_len), e, AT_E_BAD_VALUE, "config_listener",
              "listener: unexpected text after the options");
    *out = l;
    return at_ok();
}

/* ---- rate specs ---- */

at_status at_rate_spec_parse(const char *s, size_t len, struct at_rate_spec *out, const char *key,
                             struct at_err *e)
{
    if (len == 1 && s[0] == '0') {
        out->rate = 0;
        out->burst = 0;
        return at_ok();
    }
    const char *slash = memchr(s, '/', len);
    AT_ENSURE(slash != NULL, e, AT_E_BAD_VALUE, "config_rate",
              "%s: expected RATE/BURST (requests per second / burst) or 0", key);
    struct at_rate_spec r;
    AT_TRY(at_dec_parse_u32(s, (size_t)(slash - s), 1, 1000000, &r.rate, key, e));
    AT_TRY(at_dec_parse_u32(slash + 1, len - (size_t)(slash - s) - 1, 1, 1000000, &r.burst, key, e));
    *out = r;
    return at_ok();
}

at_status at_authfail_spec_parse(const char *s, size_t len, struct at_authfail_spec *out,
                                 struct at_err *e)
{
    static const char key[] = "auth_failure_limit";
    if (len == 1 && s[0] == '0') {
        memset(out, 0, sizeof(*out));
        return at_ok();
    }
    const char *a = memchr(s, '/', len);
    const char *b = a != NULL ? memchr(a + 1, '/', len - (size_t)(a + 1 - s)) : NULL;
    AT_ENSURE(a != NULL && b != NULL, e, AT_E_BAD_VALUE, "config_rate",
              "%s: expected FAILURES/WINDOW_S/COOLDOWN_S or 0", key);
    struct at_authfail_spec r;
    AT_TRY(at_dec_parse_u32(s, (size_t)(a - s), 1, 1000000, &r.failures, key, e));
    AT_TRY(at_dec_parse_u32(a + 1, (size_t)(b - a - 1), 1, 86400, &r.window_s, key, e));
    AT_TRY(at_dec_parse_u32(b + 1, len - (size_t)(b + 1 - s), 1, 86400, &r.cooldown_s, key, e));
    *out = r;
    return at_ok();
}
