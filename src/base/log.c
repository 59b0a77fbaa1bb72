/* The operational log (log.h). */
#include "base/log.h"

#include "base/timeutil.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *at_log_level_name(enum at_log_level l)
{
    switch (l) {
    case AT_LOG_ERROR:
        return "error";
    case AT_LOG_WARN:
        return "warn";
    case AT_LOG_INFO:
        return "info";
    case AT_LOG_DEBUG:
        return "debug";
    }
    return "error";
}

static _Atomic int log_level = AT_LOG_INFO;

void at_log_set_level(enum at_log_level l)
{
    atomic_store(&log_level, (int)l);
}

bool at_log_enabled(enum at_log_level l)
{
    return (int)l <= atomic_load(&log_level);
}

static _Atomic int log_format = AT_LOG_FORMAT_TEXT;

void at_log_set_format(enum at_log_format f)
{
    atomic_store(&log_format, (int)f);
}

static void vlog(enum at_log_level l, const char *req_id, const char *fmt, va_list ap)
    AT_PRINTF(3, 0);

/*
 * One write per line, so lines from worker threads never interleave. Messages come
 * from our own format strings; callers never pass tokens, keys or evidence (a
 * request line carries method, sanitised path, status, provider and id only).
 */
static void vlog(enum at_log_level l, const char *req_id, const char *fmt, va_list ap)
{
    char msg[1024];
    int m = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (m < 0) {
        return;
    }
    if (atomic_load(&log_format) == AT_LOG_FORMAT_JSON) {
        char when[32];
        at_time_format(at_time_now(), when, sizeof(when));
        json_t *o = json_pack("{s:s, s:s}", "time", when, "level", at_log_level_name(l));
        if (o == NULL) {
            return;
        }
        if (req_id != NULL) {
            json_object_set_new(o, "request_id", json_string(req_id));
        }
        json_t *js = json_string(msg);
        json_object_set_new(o, "msg", js != NULL ? js : json_string("(invalid UTF-8)"));
        char *text = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref(o);
        if (text != NULL) {
            size_t n = strlen(text);
            char *t2 = realloc(text, n + 2);
            if (t2 != NULL) {
                text = t2;
                text[n++] = '\n';
                fwrite(text, 1, n, stderr);
            }
            free(text);
        }
        return;
    }
    char line[1200];
    int n = snprintf(line, sizeof(line), "attestd: %s: %s%s%s%s", at_log_level_name(l),
                     req_id != NULL ? "req=" : "", req_id != NULL ? req_id : "",
                     req_id != NULL ? " " : "", msg);
    if (n < 0) {
        return;
    }
    size_t len = (size_t)n;
    if (len > sizeof(line) - 2) {
        len = sizeof(line) - 2;
    }
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
}

void at_log(enum at_log_level l, const char *fmt, ...)
{
    if (!at_log_enabled(l)) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vlog(l, NULL, fmt, ap);
    va_end(ap);
}

void at_log_req(enum at_log_level l, const char *req_id, const char *fmt, ...)
{
    if (!at_log_enabled(l)) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vlog(l, req_id, fmt, ap);
    va_end(ap);
}
