/*
 * Scheduled backups inside attestd (backup.h): one thread that wakes every
 * backup_interval_s, writes backup_dir/backup-YYYYMMDDTHHMMSSZ.atb through
 * at_backup_create_file, keeps the newest backup_keep files and emits an audit record.
 * The key is loaded once at start (a bad key stops attestd there, not hours later)
 * and wiped at stop.
 */
#include "backup/backup.h"
#include "base/timeutil.h"
#include "monitor/audit.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NAME_PREFIX "backup-"
#define NAME_SUFFIX ".atb"

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool started, stop;
    pthread_t thread;
    struct at_store *store;
    char *data_dir, *dir, *config_path, *oidc_path;
    int64_t interval_s;
    unsigned keep;
    struct at_backup_key key;
    int64_t last_success;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

int64_t at_backup_last_success(void)
{
    pthread_mutex_lock(&g.mu);
    int64_t v = g.last_success;
    pthread_mutex_unlock(&g.mu);
    return v;
}

static bool is_backup_name(const char *n)
{
    size_t len = strlen(n), pl = strlen(NAME_PREFIX), sl = strlen(NAME_SUFFIX);
    return len > pl + sl && strncmp(n, NAME_PREFIX, pl) == 0 &&
           strcmp(n + len - sl, NAME_SUFFIX) == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Delete all but the newest `keep` backup files (names sort by time). */
static void prune(const char *dir, unsigned keep)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!is_backup_name(de->d_name)) {
            continue;
        }
        if (n == cap) {
            size_t ncap = cap == 0 ? 16 : cap * 2;
            char **nv = realloc(names, ncap * sizeof(*nv));
            if (nv == NULL) {
                break;
            }
            names = nv;
            cap = ncap;
        }
        names[n] = strdup(de->d_name);
        if (names[n] != NULL) {
            n++;
        }
    }
    closedir(d);
    if (n > 0) {
        qsort(names, n, sizeof(*names), cmp_names);
    }
    for (size_t i = 0; i < n; i++) {
        if (i + keep < n) {
            char p[4200];
            snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
            unlink(p);
        }
        free(names[i]);
    }
    free(names);
}

at_status at_backup_schedule_run_once(struct at_err *e)
{
    AT_ENSURE(g.started, e, AT_E_USAGE, "backup_schedule", "scheduled backups are not started");
    int64_t now = at_time_now();
    time_t t = (time_t)now;
    struct tm tm;
    char stamp[32] = "unknown";
    if (gmtime_r(&t, &tm) != NULL) {
        strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    }
    char path[4200];
    snprintf(path, sizeof(path), "%s/" NAME_PREFIX "%s" NAME_SUFFIX, g.dir, stamp);
    struct at_backup_meta m = {
        .config_path = g.config_path, .oidc_config_path = g.oidc_path, .now = now};
    struct at_backup_counts c;
    memset(&c, 0, sizeof(c));
    at_status s = at_backup_create_file(g.store, g.data_dir, &m, &g.key, path, &c, e);
    const char *base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
    struct at_audit_rec rec;
    memset(&rec, 0, sizeof(rec));
    rec.kind = AT_AUDIT_BACKUP;
    rec.operation = "backup.scheduled";
    rec.target = base;
    char detail[AT_MSG_MAX + 64];
    if (at_is_ok(s)) {
        rec.result = "ok";
        snprintf(detail, sizeof(detail), "%zu providers, %zu policies, %zu signers, %zu roles",
                 c.providers, c.policies, c.signers, c.roles);
        pthread_mutex_lock(&g.mu);
        g.last_success = now;
        pthread_mutex_unlock(&g.mu);
        prune(g.dir, g.keep);
    } else {
        rec.result = at_code_name(e->code);
        snprintf(detail, sizeof(detail), "%s", e->msg);
    }
    rec.detail = detail;
    at_audit_emit(&rec);
    return s;
}

static void *thread_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g.mu);
    for (;;) {
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += (time_t)g.interval_s;
        while (!g.stop) {
            int rc = pthread_cond_timedwait(&g.cv, &g.mu, &deadline);
            if (rc == ETIMEDOUT) {
                break;
            }
        }
        if (g.stop) {
            break;
        }
        pthread_mutex_unlock(&g.mu);
        struct at_err e;
        at_err_init(&e);
        at_status s = at_backup_schedule_run_once(&e);
        (void)s; /* reported through the audit record */
        pthread_mutex_lock(&g.mu);
    }
    pthread_mutex_unlock(&g.mu);
    return NULL;
}

static void free_state(void)
{
    free(g.data_dir);
    free(g.dir);
    free(g.config_path);
    free(g.oidc_path);
    g.data_dir = g.dir = g.config_path = g.oidc_path = NULL;
    at_backup_key_clear(&g.key);
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

at_status at_backup_schedule_start(const struct at_backup_schedule_cfg *c, struct at_err *e)
{
    AT_ENSURE(!g.started, e, AT_E_USAGE, "backup_schedule", "scheduled backups already started");
    AT_ENSURE(c->store != NULL && c->dir != NULL && c->data_dir != NULL && c->interval_s > 0 &&
                  c->keep > 0,
              e, AT_E_USAGE, "backup_schedule", "backup_dir, interval and keep are required");
    AT_ENSURE((c->key_file != NULL) != (c->passphrase_file != NULL), e, AT_E_USAGE,
              "backup_schedule", "give exactly one of backup_key_file and backup_passphrase_file");
    if (mkdir(c->dir, 0700) != 0 && errno != EEXIST) {
        AT_FAIL(e, AT_E_IO, "backup_schedule", "cannot create backup_dir %s: %s", c->dir,
                strerror(errno));
    }
    struct stat sb;
    AT_ENSURE(stat(c->dir, &sb) == 0 && S_ISDIR(sb.st_mode), e, AT_E_IO, "backup_schedule",
              "backup_dir %s is not a directory", c->dir);
    at_status s = c->key_file != NULL ? at_backup_key_load(c->key_file, &g.key, e)
                                      : at_backup_passphrase_load(c->passphrase_file, &g.key, e);
    AT_TRY(s);
    g.store = c->store;
    g.data_dir = strdup(c->data_dir);
    g.dir = strdup(c->dir);
    g.config_path = dup_or_null(c->config_path);
    g.oidc_path = dup_or_null(c->oidc_config_path);
    g.interval_s = c->interval_s;
    g.keep = c->keep;
    g.stop = false;
    if (g.data_dir == NULL || g.dir == NULL || (c->config_path != NULL && !g.config_path) ||
        (c->oidc_config_path != NULL && !g.oidc_path)) {
        free_state();
        AT_FAIL(e, AT_E_NOMEM, "backup_schedule", "out of memory");
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&g.cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc == 0 && pthread_create(&g.thread, NULL, thread_main, NULL) != 0) {
        pthread_cond_destroy(&g.cv);
        rc = -1;
    }
    if (rc != 0) {
        free_state();
        AT_FAIL(e, AT_E_INTERNAL, "backup_schedule", "cannot start the backup thread");
    }
    g.started = true;
    return at_ok();
}

void at_backup_schedule_stop(void)
{
    if (!g.started) {
        return;
    }
    pthread_mutex_lock(&g.mu);
    g.stop = true;
    pthread_cond_signal(&g.cv);
    pthread_mutex_unlock(&g.mu);
    pthread_join(g.thread, NULL);
    pthread_cond_destroy(&g.cv);
    free_state();
    g.started = false;
}
