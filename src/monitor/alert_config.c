/* The alert_* config values (docs/configuration.md, docs/alerts.md). */
#include "base/encoding.h"
#include "monitor/alerts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URL_MAX  512u
#define PATH_MAX_ 4095u

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    at_assert(p != NULL);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static char *dup_opt(const char *s)
{
    return s != NULL ? dupn(s, strlen(s)) : NULL;
}

void at_alert_config_clear(struct at_alert_config *c)
{
    free(c->webhook_url);
    free(c->webhook_ca);
    free(c->webhook_token_file);
    memset(c, 0, sizeof(*c));
}

void at_alert_config_copy(struct at_alert_config *dst, const struct at_alert_config *src)
{
    *dst = *src;
    dst->webhook_url = dup_opt(src->webhook_url);
    dst->webhook_ca = dup_opt(src->webhook_ca);
    dst->webhook_token_file = dup_opt(src->webhook_token_file);
}

bool at_alert_config_any(const struct at_alert_config *c)
{
    return c->policy_changed || c->signer_changed || c->role_changed ||
           (c->auth_failures_n > 0 && c->auth_failures_window_s > 0) || c->ratio_window_s > 0 ||
           c->collateral_days > 0;
}

static at_status on_off(const char *v, size_t len, bool *out, const char *key, struct at_err *e)
{
    if (len == 2 && memcmp(v, "on", 2) == 0) {
        *out = true;
        return at_ok();
    }
    if (len == 3 && memcmp(v, "off", 3) == 0) {
        *out = false;
        return at_ok();
    }
    AT_FAIL(e, AT_E_BAD_VALUE, "config_value", "%s: expected on or off", key);
}

/* Split "a/b[/c]" into exactly `want` parts. */
static at_status split(const char *v, size_t len, unsigned want, const char **part,
                       size_t *plen, const char *what, struct at_err *e)
{
    unsigned n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || v[i] == '/') {
            AT_ENSURE(n < want, e, AT_E_BAD_VALUE, "config_value", "%s", what);
            part[n] = v + start;
            plen[n] = i - start;
            n++;
            start = i + 1;
        }
    }
    AT_ENSURE(n == want, e, AT_E_BAD_VALUE, "config_value", "%s", what);
    return at_ok();
}

/* A ratio in [0, 1): "0.5", "0", ".25" (digits and one dot only). */
static at_status ratio(const char *s, size_t len, double *out, const char *what, struct at_err *e)
{
    char buf[24];
    AT_ENSURE(len > 0 && len < sizeof(buf), e, AT_E_BAD_VALUE, "config_value", "%s", what);
    unsigned dots = 0;
    for (size_t i = 0; i < len; i++) {
        AT_ENSURE((s[i] >= '0' && s[i] <= '9') || (s[i] == '.' && ++dots == 1), e,
                  AT_E_BAD_VALUE, "config_value", "%s", what);
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end = NULL;
    double d = strtod(buf, &end);
    AT_ENSURE(end == buf + len && isfinite(d) && d >= 0 && d < 1, e, AT_E_BAD_VALUE,
              "config_value", "%s", what);
    *out = d;
    return at_ok();
}

static at_status path(const char *v, size_t len, char **slot, const char *key, struct at_err *e)
{
    AT_ENSURE(len > 0 && len <= PATH_MAX_, e, AT_E_BAD_VALUE, "config_path", "%s: bad path", key);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)v[i];
        AT_ENSURE(ch >= 0x20 && ch != 0x7f, e, AT_E_BAD_VALUE, "config_path",
                  "%s: control character in path", key);
    }
    free(*slot);
    *slot = dupn(v, len);
    return at_ok();
}

/* https://host[:port][/path], URL characters only; no userinfo (secrets go in a file). */
static at_status webhook_url(const char *v, size_t len, char **slot, struct at_err *e)
{
    static const char pfx[] = "https://";
    AT_ENSURE(len > sizeof(pfx) - 1 && memcmp(v, pfx, sizeof(pfx) - 1) == 0, e, AT_E_BAD_VALUE,
              "config_url", "alert_webhook_url: must start with https:// (TLS is required)");
    AT_ENSURE(len <= URL_MAX, e, AT_E_BAD_VALUE, "config_url",
              "alert_webhook_url: longer than %u bytes", URL_MAX);
    AT_ENSURE(v[sizeof(pfx) - 1] != '/', e, AT_E_BAD_VALUE, "config_url",
              "alert_webhook_url: missing host");
    for (size_t i = sizeof(pfx) - 1; i < len; i++) {
        unsigned char ch = (unsigned char)v[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  (ch != '\0' && strchr("-._~:/[]%!$&'()*+,;=?", ch) != NULL);
        AT_ENSURE(ok, e, AT_E_BAD_VALUE, "config_url",
                  "alert_webhook_url: character not allowed at offset %zu", i);
    }
    free(*slot);
    *slot = dupn(v, len);
    return at_ok();
}

at_status at_alert_config_set(struct at_alert_config *c, const char *key, const char *v,
                              size_t len, struct at_err *e)
{
    uint64_t n;
    const char *part[3];
    size_t plen[3];
    if (strcmp(key, "alert_policy_changed") == 0) {
        return on_off(v, len, &c->policy_changed, key, e);
    }
    if (strcmp(key, "alert_signer_changed") == 0) {
        return on_off(v, len, &c->signer_changed, key, e);
    }
    if (strcmp(key, "alert_role_changed") == 0) {
        return on_off(v, len, &c->role_changed, key, e);
    }
    if (strcmp(key, "alert_syslog") == 0) {
        return on_off(v, len, &c->syslog, key, e);
    }
    if (strcmp(key, "alert_auth_failures") == 0) {
        if (len == 3 && memcmp(v, "off", 3) == 0) {
            c->auth_failures_n = c->auth_failures_window_s = 0;
            return at_ok();
        }
        static const char what[] = "alert_auth_failures: expected N/SECONDS (e.g. 10/60) or off";
        AT_TRY(split(v, len, 2, part, plen, what, e));
        uint64_t m;
        AT_TRY(at_dec_parse(part[0], plen[0], 1, AT_ALERT_AUTH_N_MAX, &n, key, e));
        AT_TRY(at_dec_parse(part[1], plen[1], 1, AT_ALERT_WINDOW_MAX_S, &m, key, e));
        c->auth_failures_n = (unsigned)n;
        c->auth_failures_window_s = (unsigned)m;
        return at_ok();
    }
    if (strcmp(key, "alert_attestation_failure_ratio") == 0) {
        if (len == 3 && memcmp(v, "off", 3) == 0) {
            c->ratio = 0;
            c->ratio_window_s = c->ratio_min = 0;
            return at_ok();
        }
        static const char what[] = "alert_attestation_failure_ratio: expected RATIO/SECONDS/"
                                   "MIN_ATTESTATIONS with 0 <= RATIO < 1 (e.g. 0.5/300/20) or off";
        AT_TRY(split(v, len, 3, part, plen, what, e));
        double r = 0;
        uint64_t m;
        AT_TRY(ratio(part[0], plen[0], &r, what, e));
        AT_TRY(at_dec_parse(part[1], plen[1], 1, AT_ALERT_WINDOW_MAX_S, &m, key, e));
        AT_TRY(at_dec_parse(part[2], plen[2], 1, AT_ALERT_RATIO_MIN_MAX, &n, key, e));
        c->ratio = r;
        c->ratio_window_s = (unsigned)m;
        c->ratio_min = (unsigned)n;
        return at_ok();
    }
    if (strcmp(key, "alert_collateral_expiry_days") == 0) {
        AT_TRY(at_dec_parse(v, len, 0, AT_ALERT_EXPIRY_DAYS_MAX, &n, key, e));
        c->collateral_days = (unsigned)n;
        return at_ok();
    }
    if (strcmp(key, "alert_webhook_url") == 0) {
        return webhook_url(v, len, &c->webhook_url, e);
    }
    if (strcmp(key, "alert_webhook_ca") == 0) {
        return path(v, len, &c->webhook_ca, key, e);
    }
    if (strcmp(key, "alert_webhook_token_file") == 0) {
        return path(v, len, &c->webhook_token_file, key, e);
    }
    AT_FAIL(e, AT_E_PARSE, "config_key", "unknown alert key");
}
