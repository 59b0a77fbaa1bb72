#include "test_util.h"

#include "store/kek.h"

#include "base/fileio.h"

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
    /* The project's own reader (NUL-terminated, capped); tests read nothing larger. */
    uint8_t *buf = NULL;
    struct at_err e;
    at_err_init(&e);
    return at_is_ok(at_file_read(path, (size_t)64 << 20, &buf, len, &e)) ? buf : NULL;
}

const struct at_kek *tu_kek(void)
{
    static struct at_kek k;
    static const uint8_t bytes[AT_KEK_LEN] = {
        0x74, 0x65, 0x73, 0x74, 0x2d, 0x6b, 0x65, 0x6b, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
        0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17};
    at_kek_from_bytes(bytes, &k);
    return &k;
}
