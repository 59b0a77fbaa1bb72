/* Small helpers shared by the unit tests. */
#ifndef AT_TEST_UTIL_H
#define AT_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Path of the shared vectors folder ($ATTESTD_VECTORS or <repo>/../shared/vectors), or NULL. */
const char *tu_vectors_dir(void);
/* Path of the shared conformance folder ($ATTESTD_CONFORMANCE or <repo>/../shared/conformance), or NULL. */
const char *tu_conformance_dir(void);
/* Read a whole file; NULL on error. */
uint8_t *tu_read_file(const char *path, size_t *len);

struct at_kek;
/* A fixed key-encryption key (source "memory") for stores opened by unit tests. */
const struct at_kek *tu_kek(void);

/* Create a fresh directory /tmp/attestd-PREFIX-XXXXXX (mkdtemp, mode 0700) in buf; returns buf,
 * or NULL (errno set) when it cannot be made or does not fit in cap bytes. */
char *tu_tempdir(char *buf, size_t cap, const char *prefix);
/* Remove a directory tree (a test's temp dir: plain files and directories, links are removed
 * as links, never followed); 0, or -1 if any part could not be removed. */
int tu_rm_tree(const char *path);

/* cmocka assertion (the file includes cmocka.h): `call` returns an at_status whose code is
 * `want`; on a mismatch the error message is printed first. The macro's error context is
 * named ee_ so calls can pass &ee_. (Unprefixed: the store tests' own name for it.) */
#define EXPECT_CODE(call, want)                                                                    \
    do {                                                                                           \
        struct at_err ee_;                                                                         \
        at_err_init(&ee_);                                                                         \
        at_status st_ = (call);                                                                    \
        if (st_.code != (want)) {                                                                  \
            print_error("%s: got %d (%s), want %d\n", #call, (int)st_.code, ee_.msg, (int)(want)); \
        }                                                                                          \
        assert_int_equal(st_.code, (want));                                                        \
    } while (0)

struct at_store;
/* The store fixture of the store unit tests: a temp dir with a store opened in base/data. */
struct tu_store_fx {
    char base[64]; /* tu_tempdir("/tmp/attestd-PREFIX-XXXXXX") */
    char dir[96];  /* base/data: created by at_store_open */
    struct at_store *s;
};
/* cmocka group/test setup: allocate a tu_store_fx into *state, make the temp dir and open the
 * store with tu_kek(); 0, or -1 with the cause on stderr. */
int tu_store_fx_setup(void **state, const char *prefix);
/* Close the store, remove the temp dir and free the fixture; 0, or -1 if the tree stayed. */
int tu_store_fx_teardown(void **state);

#endif
