#include "base/timeutil.h"

#include <stdio.h>
#include <time.h>

int64_t at_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Howard Hinnant's algorithm. */
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t mp = (int64_t)((m + 9) % 12);
    const int64_t doy = (153 * mp + 2) / 5 + (int64_t)d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

at_status at_time_parse(const char *s, size_t len, int64_t *out, struct at_err *e)
{
    unsigned Y, M, D, h, m, sec;
    if (len < 20 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) || s[7] != '-' ||
        digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &m) || s[16] != ':' ||
        digits(s + 17, 2, &sec)) {
        AT_FAIL(e, AT_E_PARSE, NULL, "invalid timestamp '%.*s'", (int)(len > 40 ? 40 : len), s);
    }
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 || sec > 60) {
        AT_FAIL(e, AT_E_PARSE, NULL, "timestamp out of range '%.*s'", (int)(len > 40 ? 40 : len),
                s);
    }
    if (M == 2 && D == 29 && !((Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0)) {
        AT_FAIL(e, AT_E_PARSE, NULL, "timestamp out of range '%.*s'", (int)(len > 40 ? 40 : len),
                s);
    }
    size_t i = 19;
    if (i < len && s[i] == '.') {
        i++;
        size_t start = i;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
        if (i == start) {
            AT_FAIL(e, AT_E_PARSE, NULL, "invalid fraction in timestamp");
        }
    }
    int64_t offset = 0;
    if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        unsigned oh, om;
        if (digits(s + i + 1, 2, &oh) || digits(s + i + 4, 2, &om) || oh > 23 || om > 59) {
            AT_FAIL(e, AT_E_PARSE, NULL, "invalid zone offset in timestamp");
        }
        offset = (int64_t)(oh * 3600 + om * 60);
        if (s[i] == '-') {
            offset = -offset;
        }
        i += 6;
    } else {
        AT_FAIL(e, AT_E_PARSE, NULL, "timestamp needs a zone (Z or +hh:mm)");
    }
    int64_t days = at_days_from_civil((int64_t)Y, M, D);
    *out = days * 86400 + (int64_t)(h * 3600 + m * 60 + (sec > 59 ? 59 : sec)) - offset;
    return at_ok();
}

void at_time_format(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL) {
        snprintf(buf, cap, "invalid");
        return;
    }
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t at_time_now(void)
{
    return (int64_t)time(NULL);
}
