/*
 * Snapshots for backups and whole-database replacement for restores (store.h,
 * issue 7), over SQLite's online backup API (sqlite3_backup_*).
 *
 * A snapshot steps the whole source in one call (sqlite3_backup_step(-1)), so it
 * reads inside a single read transaction: a consistent picture of the database even
 * while other connections write (WAL lets them go on). A replacement steps the other
 * way, writing the destination in one write transaction: a failure leaves it as it was.
 */
#include "store/store_sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DB_FILE       "attestd.db"
#define BUSY_RETRIES  200
#define BUSY_SLEEP_NS 50000000L /* 50 ms */

static at_status db_path(const char *dir, char *buf, size_t cap, struct at_err *e)
{
    AT_ENSURE(dir != NULL && dir[0] != '\0', e, AT_E_USAGE, "store", "no directory");
    int n = snprintf(buf, cap, "%s/%s", dir, DB_FILE);
    AT_ENSURE(n > 0 && (size_t)n < cap, e, AT_E_BAD_VALUE, "store", "directory path too long");
    return at_ok();
}

/* Run one whole backup from src to dst; retries while either side is busy. */
static int copy_all(sqlite3 *dst, sqlite3 *src)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (b == NULL) {
        return sqlite3_errcode(dst);
    }
    int rc;
    for (int tries = 0;; tries++) {
        rc = sqlite3_backup_step(b, -1);
        if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && tries < BUSY_RETRIES) {
            struct timespec ts = {0, BUSY_SLEEP_NS};
            nanosleep(&ts, NULL);
            continue;
        }
        break;
    }
    int frc = sqlite3_backup_finish(b);
    if (rc == SQLITE_DONE) {
        return frc;
    }
    return rc;
}

at_status at_store_snapshot(struct at_store *s, const char *dest_dir, struct at_err *e)
{
    char path[4200];
    AT_TRY(db_path(dest_dir, path, sizeof(path), e));
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        AT_FAIL(e, AT_E_IO, "store_snapshot", "cannot create %s: %s", path, strerror(errno));
    }
    close(fd);
    sqlite3 *dst = NULL;
    int rc = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK) {
        at_sql_lock(s);
        rc = copy_all(dst, s->db);
        at_sql_unlock(s);
    }
    char msg[160];
    snprintf(msg, sizeof(msg), "%s", dst != NULL ? sqlite3_errstr(rc) : "out of memory");
    if (rc == SQLITE_OK && sqlite3_close(dst) != SQLITE_OK) {
        rc = SQLITE_ERROR;
        snprintf(msg, sizeof(msg), "close failed");
    } else if (rc != SQLITE_OK) {
        sqlite3_close_v2(dst);
    }
    if (rc != SQLITE_OK) {
        unlink(path);
        AT_FAIL(e, AT_E_IO, "store_snapshot", "store: snapshot failed: %s", msg);
    }
    return at_ok();
}

at_status at_store_replace_from(struct at_store *s, const char *src_dir, struct at_err *e)
{
    char path[4200];
    AT_TRY(db_path(src_dir, path, sizeof(path), e));
    sqlite3 *src = NULL;
    int rc = sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK) {
        at_sql_lock(s);
        int64_t before = 0;
        struct at_err ignored;
        at_err_init(&ignored);
        bool have = at_is_ok(
            at_sql_query_int(s, "SELECT v FROM config_version WHERE id = 1", &before, &ignored));
        rc = copy_all(s->db, src);
        if (rc == SQLITE_OK) {
            s->generation++;
            /* Other processes compare config_version: move it past both databases' values
               so a restore is always seen as a change. */
            sqlite3_stmt *st = NULL;
            if (have && sqlite3_prepare_v2(s->db,
                                           "UPDATE config_version SET v = v + ? WHERE id = 1", -1,
                                           &st, NULL) == SQLITE_OK) {
                sqlite3_bind_int64(st, 1, before + 1);
                rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->db);
            }
            sqlite3_finalize(st);
        }
        at_sql_unlock(s);
    }
    const char *msg = src != NULL ? sqlite3_errstr(rc) : "out of memory";
    char buf[160];
    snprintf(buf, sizeof(buf), "%s", msg);
    sqlite3_close_v2(src);
    AT_ENSURE(rc == SQLITE_OK, e, AT_E_IO, "store_replace", "store: replace failed: %s", buf);
    return at_ok();
}

at_status at_store_schema_version(struct at_store *s, int64_t *out, struct at_err *e)
{
    at_sql_lock(s);
    at_status r = at_sql_query_int(s, "SELECT version FROM schema_version WHERE id = 1", out, e);
    at_sql_unlock(s);
    return r;
}

at_status at_store_collateral_count(struct at_store *s, int64_t *out, struct at_err *e)
{
    at_sql_lock(s);
    at_status r = at_sql_query_int(s, "SELECT count(*) FROM collateral", out, e);
    at_sql_unlock(s);
    return r;
}

at_status at_store_open_beside(struct at_store *live, const char *dir, struct at_store **out,
                               struct at_err *e)
{
    /* The live handle keeps its KEK's source (and the bytes only for MEMORY keys):
       re-read it so the new store is sealed under the same key-encryption key. */
    struct at_kek k;
    at_sql_lock(live);
    k = live->crypt.kek;
    at_sql_unlock(live);
    at_status st = at_kek_reload(&k, e);
    if (at_is_ok(st)) {
        st = at_store_open(dir, &k, out, e);
    }
    at_kek_clear(&k);
    return st;
}
