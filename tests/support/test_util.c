#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static const char *dir_or_null(const char *env, const char *fallback, char *buf, size_t cap)
{
    const char *v = getenv(env);
    struct stat st;
    if (v != NULL && v[0] != '\0') {
        return stat(v, &st) == 0 && S_ISDIR(st.st_mode) ? v : NULL;
    }
    snprintf(buf, cap, "%s/%s", ATTESTD_SOURCE_DIR, fallback);
    return stat(buf, &st) == 0 && S_ISDIR(st.st_mode) ? buf : NULL;
}

const char *tu_vectors_dir(void)
{
    static char buf[4096];
    return dir_or_null("ATTESTD_VECTORS", "../shared/vectors", buf, sizeof(buf));
}

const char *tu_conformance_dir(void)
{
    static char buf[4096];
    return dir_or_null("ATTESTD_CONFORMANCE", "../shared/conformance", buf, sizeof(buf));
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 4096, n = 0, r;
    uint8_t *buf = malloc(cap + 1);
    while (buf != NULL && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap * 2 + 1);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf != NULL) {
        buf[n] = 0;
        *len = n;
    }
    return buf;
}
