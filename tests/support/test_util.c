#include "test_util.h"

#include "store/kek.h"
#include "store/store.h"

#include "base/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

char *tu_tempdir(char *buf, size_t cap, const char *prefix)
{
    int n = snprintf(buf, cap, "/tmp/attestd-%s-XXXXXX", prefix);
    if (n < 0 || (size_t)n >= cap) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    return mkdtemp(buf);
}

int tu_rm_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) {
        return -1;
    }
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        if (d == NULL) {
            return -1;
        }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
                continue;
            }
            char sub[4096];
            int n = snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
            if (n < 0 || (size_t)n >= sizeof(sub) || tu_rm_tree(sub) != 0) {
                closedir(d);
                return -1;
            }
        }
        closedir(d);
    }
    return remove(path);
}

int tu_store_fx_setup(void **state, const char *prefix)
{
    struct tu_store_fx *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return -1;
    }
    if (tu_tempdir(f->base, sizeof(f->base), prefix) == NULL) {
        fprintf(stderr, "setup: mkdtemp %s: %s\n", f->base, strerror(errno));
        free(f);
        return -1;
    }
    snprintf(f->dir, sizeof(f->dir), "%s/data", f->base);
    struct at_err e;
    at_err_init(&e);
    if (!at_is_ok(at_store_open(f->dir, tu_kek(), &f->s, &e))) {
        fprintf(stderr, "setup: at_store_open %s: %s\n", f->dir, e.msg);
        (void)tu_rm_tree(f->base);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

int tu_store_fx_teardown(void **state)
{
    struct tu_store_fx *f = *state;
    at_store_close(f->s);
    int rc = tu_rm_tree(f->base);
    if (rc != 0) {
        fprintf(stderr, "teardown: cannot remove %s\n", f->base);
    }
    free(f);
    *state = NULL;
    return rc;
}
