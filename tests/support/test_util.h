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

#endif
