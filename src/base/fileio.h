/* Reading whole files with a size cap. */
#ifndef AT_BASE_FILEIO_H
#define AT_BASE_FILEIO_H

#include "base/status.h"

#include <stdint.h>

/* Read `path` (at most max bytes) into a heap buffer with a NUL appended (not counted). */
AT_NODISCARD at_status at_file_read(const char *path, size_t max, uint8_t **out, size_t *len,
                                    struct at_err *e);
/* 1 if path exists (any type), else 0. */
int at_path_exists(const char *path);
int at_path_is_dir(const char *path);

#endif
