#define _POSIX_C_SOURCE 200809L
#include "base/fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

at_status at_file_read(const char *path, size_t max, uint8_t **out, size_t *len, struct at_err *e)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        AT_FAIL(e, AT_E_IO, NULL, "cannot open %s: %s", path, strerror(errno));
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap + 1);
    if (buf == NULL) {
        fclose(f);
        AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
    }
    for (;;) {
        if (n == cap) {
            if (cap >= max + 1) {
                free(buf);
                fclose(f);
                AT_FAIL(e, AT_E_LIMIT, NULL, "%s is larger than %zu bytes", path, max);
            }
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            uint8_t *nb = realloc(buf, ncap + 1);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                AT_FAIL(e, AT_E_NOMEM, NULL, "out of memory");
            }
            buf = nb;
            cap = ncap;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            break;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        AT_FAIL(e, AT_E_IO, NULL, "cannot read %s", path);
    }
    if (n > max) {
        free(buf);
        AT_FAIL(e, AT_E_LIMIT, NULL, "%s is larger than %zu bytes", path, max);
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return at_ok();
}

int at_path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int at_path_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
