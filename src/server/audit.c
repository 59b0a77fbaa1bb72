/* The audit sink (audit.h): one JSON object per line on stderr. */
#include "server/audit.h"

#include "base/timeutil.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *str_or_null(const char *s)
{
    /* json_string refuses invalid UTF-8: such a value is recorded as null. */
    json_t *v = s != NULL ? json_string(s) : NULL;
    return v != NULL ? v : json_null();
}

void at_audit_event(const char *kind, const char *principal, const char *provider,
                    const char *operation, const char *result, const char *request_id)
{
    char when[32];
    at_time_format(at_time_now(), when, sizeof(when));
    json_t *o = json_object();
    if (o == NULL) {
        return;
    }
    json_object_set_new(o, "audit", str_or_null(kind));
    json_object_set_new(o, "time", str_or_null(when));
    json_object_set_new(o, "principal", str_or_null(principal));
    json_object_set_new(o, "provider", str_or_null(provider));
    json_object_set_new(o, "operation", str_or_null(operation));
    json_object_set_new(o, "result", str_or_null(result));
    json_object_set_new(o, "request_id", str_or_null(request_id));
    char *line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (line == NULL) {
        return;
    }
    size_t n = strlen(line);
    char *buf = realloc(line, n + 2);
    if (buf != NULL) {
        line = buf;
        line[n++] = '\n';
        line[n] = '\0';
    }
    /* One write per record so lines from worker threads never interleave. */
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
    free(line);
}
