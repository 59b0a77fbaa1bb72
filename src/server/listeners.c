/*
 * One MHD daemon per listener (server/net.h): TCP listeners speak TLS with the
 * reloadable credentials, Unix-socket listeners plain HTTP (mode 0660). The
 * accept policy refuses sources outside the allowed networks before any TLS
 * byte; a reaper thread cuts connections whose request head is too slow.
 */
#include "base/fileio.h"
#include "monitor/audit.h"
#include "monitor/metrics.h"
#include "server/net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define REFUSED_LOG_PERIOD_S 60u
#define REAPER_TICK_MS       250

struct at_conn_track {
    struct at_conn_track *prev, *next;
    int fd;
    bool armed;
    struct timespec deadline;
};

/* ---- source policy (before the TLS handshake) ---- */

static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    struct at_listener *ls = cls;
    struct at_server *srv = ls->srv;
    struct at_ip ip;
    if (ls->spec.is_unix || !at_ip_from_sockaddr(addr, addrlen, &ip)) {
        return MHD_YES; /* Unix-socket clients: the file mode decides */
    }
    if (at_net_source_allowed(&srv->cfg->net, &ip)) {
        return MHD_YES;
    }
    struct at_net *net = srv->net;
    atomic_fetch_add(&net->refused, 1ul);
    at_metrics_connection_refused();
    /* Log and audit at most once a minute per source: a flood cannot fill either. */
    if (at_limits_once_per(net->limits, 'r', &ip, REFUSED_LOG_PERIOD_S)) {
        char src[64];
        at_ip_format(&ip, src, sizeof(src));
        at_log(AT_LOG_WARN,
               "refused connection from %s (public_network_access = disabled; not in "
               "allowed_networks); further refusals of this source are not logged for %u s",
               src, REFUSED_LOG_PERIOD_S);
        struct at_audit_rec rec = {.kind = AT_AUDIT_FORBIDDEN,
                                   .operation = "network.refused",
                                   .target = ls->spec.host,
                                   .result = "refused",
                                   .source = src};
        at_audit_emit(&rec);
    }
    return MHD_NO;
}

/* ---- slow clients ---- */

static void deadline_in(struct timespec *t, unsigned s)
{
    clock_gettime(CLOCK_MONOTONIC, t);
    t->tv_sec += (time_t)s;
}

static void notify_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe)
{
    struct at_listener *ls = cls;
    struct at_net *net = ls->srv->net;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct at_conn_track *t = calloc(1, sizeof(*t));
        if (t == NULL || ci == NULL) {
            free(t);
            *socket_context = NULL;
            return;
        }
        t->fd = ci->connect_fd;
        t->armed = true;
        deadline_in(&t->deadline, ls->srv->cfg->net.header_timeout_s);
        pthread_mutex_lock(&net->mu);
        t->next = net->conns;
        if (net->conns != NULL) {
            net->conns->prev = t;
        }
        net->conns = t;
        pthread_mutex_unlock(&net->mu);
        *socket_context = t;
        return;
    }
    struct at_conn_track *t = *socket_context;
    if (t == NULL) {
        return;
    }
    /* MHD closes the socket only after this notification: the fd is ours until unlinked. */
    pthread_mutex_lock(&net->mu);
    if (t->prev != NULL) {
        t->prev->next = t->next;
    } else {
        net->conns = t->next;
    }
    if (t->next != NULL) {
        t->next->prev = t->prev;
    }
    pthread_mutex_unlock(&net->mu);
    free(t);
    *socket_context = NULL;
}

static struct at_conn_track *track_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? (struct at_conn_track *)ci->socket_context : NULL;
}

void at_net_head_done(struct MHD_Connection *conn)
{
    struct at_conn_track *t = track_of(conn);
    if (t != NULL) {
        /* Only this connection's worker thread touches `armed` besides the reaper. */
        __atomic_store_n(&t->armed, false, __ATOMIC_SEQ_CST);
    }
}

void at_net_head_rearm(struct at_server *srv, struct MHD_Connection *conn)
{
    struct at_conn_track *t = track_of(conn);
    if (t == NULL || srv->net == NULL) {
        return;
    }
    /* The next request head on a kept-alive connection: within connection_timeout_s. */
    pthread_mutex_lock(&srv->net->mu);
    deadline_in(&t->deadline, srv->cfg->connection_timeout_s);
    __atomic_store_n(&t->armed, true, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&srv->net->mu);
}

static bool before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void *reaper(void *arg)
{
    struct at_server *srv = arg;
    struct at_net *net = srv->net;
    while (!atomic_load(&net->stopping)) {
        struct timespec tick = {0, REAPER_TICK_MS * 1000000L};
        nanosleep(&tick, NULL);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        unsigned cut = 0;
        pthread_mutex_lock(&net->mu);
        for (struct at_conn_track *t = net->conns; t != NULL; t = t->next) {
            if (__atomic_load_n(&t->armed, __ATOMIC_SEQ_CST) && before(&t->deadline, &now)) {
                /* shutdown, not close: MHD still owns the descriptor and sees EOF. */
                shutdown(t->fd, SHUT_RDWR);
                __atomic_store_n(&t->armed, false, __ATOMIC_SEQ_CST);
                cut++;
            }
        }
        pthread_mutex_unlock(&net->mu);
        if (cut > 0) {
            at_log(AT_LOG_INFO,
                   "closed %u connection(s) that did not send a request head "
                   "in time",
                   cut);
        }
    }
    return NULL;
}

/* ---- listeners ---- */

static at_status bind_unix(const struct at_listener_spec *spec, int *out, struct at_err *e)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, spec->path, strlen(spec->path) + 1);
    struct stat st;
    if (lstat(spec->path, &st) == 0) {
        AT_ENSURE(S_ISSOCK(st.st_mode), e, AT_E_IO, "listener_unix",
                  "listener unix:%s: the path exists and is not a socket", spec->path);
        unlink(spec->path); /* stale socket of an earlier run */
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    AT_ENSURE(fd >= 0, e, AT_E_IO, "listener_unix", "socket: %s", strerror(errno));
    mode_t old = umask(0117); /* the socket file is created 0660 */
    int rc = bind(fd, (const struct sockaddr *)&sa, sizeof(sa));
    int err = errno;
    umask(old);
    if (rc != 0 || chmod(spec->path, 0660) != 0 || listen(fd, 128) != 0) {
        if (rc == 0) {
            err = errno;
        }
        close(fd);
        AT_FAIL(e, AT_E_IO, "listener_unix", "listener unix:%s: %s", spec->path, strerror(err));
    }
    *out = fd;
    return at_ok();
}

static at_status start_one(struct at_server *srv, struct at_listener *ls, struct at_err *e)
{
    const struct at_config *cfg = srv->cfg;
    struct at_net *net = srv->net;
    /*
     * Default: a thread per connection, so the kernel spreads the verification work of
     * busy connections over every core. A libmicrohttpd epoll pool accepts up to ten
     * connections in a row on whichever worker wakes first: with a handful of keep-alive
     * clients all of them often land on one worker and the other cores idle (make bench
     * swung between 2,000 and 3,400 attests/s from run to run). `threads = N` still
     * selects a pool of N epoll workers, for many mostly idle connections.
     */
    unsigned pool = cfg->threads;
    unsigned int flags = pool > 0 ? MHD_USE_EPOLL_INTERNAL_THREAD
                                  : MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD;
    flags |= MHD_USE_ERROR_LOG | MHD_USE_ITC;
    int ufd = -1;
    if (ls->spec.is_unix) {
        AT_TRY(bind_unix(&ls->spec, &ufd, e));
    } else {
        flags |= MHD_USE_TLS;
        if (ls->spec.family == AF_INET6) {
            flags |= MHD_USE_IPv6;
        }
    }
    bool tls = !ls->spec.is_unix;
    bool trust = tls && ls->spec.mtls && net->client_ca_pem != NULL;
    struct MHD_OptionItem opts[] = {
        {pool > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_THREAD_STACK_SIZE,
         pool > 1 ? (intptr_t)pool : (intptr_t)AT_HTTP_THREAD_STACK, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_OptionItem tls_opts[] = {
        {tls ? MHD_OPTION_HTTPS_PRIORITIES : MHD_OPTION_END, 0,
         (void *)(uintptr_t)AT_TLS_PRIORITIES},
        {trust ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, net->client_ca_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_OptionItem sock_opts[] = {
        {ls->spec.is_unix ? MHD_OPTION_LISTEN_SOCKET : MHD_OPTION_SOCK_ADDR,
         ls->spec.is_unix ? (intptr_t)ufd : 0,
         ls->spec.is_unix ? NULL : (void *)(uintptr_t)&ls->spec.ss},
        {MHD_OPTION_END, 0, NULL},
    };
    unsigned per_ip = ls->spec.is_unix ? 0u : cfg->net.max_conn_per_source;
    if (tls) {
        ls->daemon = MHD_start_daemon(
            flags, ls->spec.port, accept_policy, ls, at_http_on_request, ls,
            MHD_OPTION_EXTERNAL_LOGGER, at_http_mhd_log, srv, MHD_OPTION_ARRAY, sock_opts,
            MHD_OPTION_HTTPS_CERT_CALLBACK, at_tls_retrieve, MHD_OPTION_ARRAY, tls_opts,
            MHD_OPTION_ARRAY, opts, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)AT_HTTP_CONN_LIMIT,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            (size_t)AT_HTTP_CONN_MEMORY_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned int)cfg->connection_timeout_s, MHD_OPTION_NOTIFY_CONNECTION, notify_conn, ls,
            MHD_OPTION_NOTIFY_COMPLETED, at_http_on_completed, ls, MHD_OPTION_END);
    } else {
        ls->daemon = MHD_start_daemon(
            flags, 0, accept_policy, ls, at_http_on_request, ls, MHD_OPTION_EXTERNAL_LOGGER,
            at_http_mhd_log, srv, MHD_OPTION_ARRAY, sock_opts, MHD_OPTION_ARRAY, opts,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)AT_HTTP_CONN_LIMIT,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)AT_HTTP_CONN_MEMORY_LIMIT,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->connection_timeout_s,
            MHD_OPTION_NOTIFY_CONNECTION, notify_conn, ls, MHD_OPTION_NOTIFY_COMPLETED,
            at_http_on_completed, ls, MHD_OPTION_END);
    }
    if (ls->daemon == NULL) {
        int err = errno;
        if (ufd >= 0) {
            close(ufd);
        }
        AT_FAIL(e, AT_E_IO, "http_start",
                "cannot start the listener on %s:%u (%s; is the port in use, or the "
                "certificate/key invalid?)",
                ls->spec.host, (unsigned)ls->spec.port, err != 0 ? strerror(err) : "unknown error");
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(ls->daemon, MHD_DAEMON_INFO_BIND_PORT);
    ls->port = !ls->spec.is_unix && info != NULL && info->port != 0 ? info->port : ls->spec.port;
    return at_ok();
}

/* The listener list: `listener` lines, else the one `listen` address with every role. */
static void build_specs(struct at_server *srv)
{
    const struct at_config *cfg = srv->cfg;
    struct at_net *net = srv->net;
    net->n = 0;
    const char *p = cfg->net.listeners;
    while (p != NULL && *p != '\0' && net->n < AT_NET_LISTENER_MAX) {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        struct at_err e;
        at_err_init(&e);
        if (at_is_ok(at_listener_spec_parse(p, len, &net->ls[net->n].spec, &e))) {
            net->n++; /* checked when the config was loaded */
        }
        p = nl != NULL ? nl + 1 : NULL;
    }
    if (net->n == 0) {
        struct at_listener_spec *s = &net->ls[0].spec;
        memset(s, 0, sizeof(*s));
        s->ss = cfg->listen_addr.ss;
        s->ss_len = cfg->listen_addr.ss_len;
        s->family = cfg->listen_addr.family;
        s->port = cfg->listen_addr.port;
        memcpy(s->host, cfg->listen_addr.host, sizeof(s->host));
        s->roles = AT_ROLE_ALL;
        net->n = 1;
    }
    for (size_t i = 0; i < net->n; i++) {
        net->ls[i].srv = srv;
    }
}

at_status at_net_start(struct at_server *srv, const char *cert_pem, const char *key_pem,
                       struct at_err *e)
{
    struct at_net *net = calloc(1, sizeof(*net));
    AT_ENSURE(net != NULL, e, AT_E_NOMEM, "http_start", "out of memory");
    srv->net = net;
    pthread_mutex_init(&net->mu, NULL);
    const struct at_config_net *nc = &srv->cfg->net;
    net->limits = at_limits_new(&nc->rate_source, &nc->rate_provider, &nc->auth_fail);
    AT_ENSURE(net->limits != NULL, e, AT_E_NOMEM, "http_start", "out of memory");
    AT_TRY(at_tls_store_new(cert_pem, strlen(cert_pem), key_pem, strlen(key_pem), &net->tls, e));
    at_tls_store_activate(net->tls);
    if (nc->tls_client_ca != NULL) {
        uint8_t *ca;
        size_t ca_len;
        AT_TRY(at_file_read(nc->tls_client_ca, 1024u * 1024u, &ca, &ca_len, e));
        net->client_ca_pem = malloc(ca_len + 1);
        if (net->client_ca_pem == NULL) {
            free(ca);
            AT_FAIL(e, AT_E_NOMEM, "http_start", "out of memory");
        }
        memcpy(net->client_ca_pem, ca, ca_len);
        net->client_ca_pem[ca_len] = '\0';
        free(ca);
    }
    build_specs(srv);
    at_http_set_started(false);
    for (size_t i = 0; i < net->n; i++) {
        AT_TRY(start_one(srv, &net->ls[i], e));
    }
    at_http_set_started(true);
    if (pthread_create(&net->reaper, NULL, reaper, srv) == 0) {
        net->reaper_running = true;
    }
    srv->daemon = net->ls[0].daemon;
    srv->port = net->ls[0].port;
    return at_ok();
}

void at_net_stop(struct at_server *srv)
{
    struct at_net *net = srv->net;
    if (net == NULL) {
        return;
    }
    atomic_store(&net->stopping, true);
    if (net->reaper_running) {
        pthread_join(net->reaper, NULL);
        net->reaper_running = false;
    }
    for (size_t i = 0; i < net->n; i++) {
        if (net->ls[i].daemon != NULL) {
            MHD_stop_daemon(net->ls[i].daemon);
            net->ls[i].daemon = NULL;
            if (net->ls[i].spec.is_unix) {
                unlink(net->ls[i].spec.path);
            }
        }
    }
    srv->daemon = NULL;
    at_tls_store_free(net->tls);
    at_limits_free(net->limits);
    free(net->client_ca_pem);
    pthread_mutex_destroy(&net->mu);
    free(net);
    srv->net = NULL;
}

void at_net_print_ready(const struct at_server *srv)
{
    const struct at_net *net = srv->net;
    char roles[48];
    /* Every listener with its roles first (harness.py maps roles to ports from these). */
    for (size_t i = 0; i < net->n; i++) {
        const struct at_listener *ls = &net->ls[i];
        at_roles_format(ls->spec.roles, roles, sizeof(roles));
        if (ls->spec.is_unix) {
            at_log(AT_LOG_INFO, "listener %zu: http+unix://%s roles=%s", i + 1, ls->spec.path,
                   roles);
        } else {
            at_log(AT_LOG_INFO, "listener %zu: https://%s:%u roles=%s%s", i + 1, ls->spec.host,
                   (unsigned)ls->port, roles, ls->spec.mtls ? " mtls" : "");
        }
    }
    for (size_t i = 0; i < net->n; i++) {
        const struct at_listener *ls = &net->ls[i];
        at_roles_format(ls->spec.roles, roles, sizeof(roles));
        if (ls->spec.is_unix) {
            fprintf(stderr, "attestd: listening on http+unix://%s (%s)\n", ls->spec.path, roles);
        } else if (i == 0) {
            /* The one line scripts wait for (exact format). */
            fprintf(stderr, "attestd: listening on https://%s:%u\n", ls->spec.host,
                    (unsigned)ls->port);
        } else {
            fprintf(stderr, "attestd: listening on https://%s:%u (%s)\n", ls->spec.host,
                    (unsigned)ls->port, roles);
        }
    }
    fflush(stderr);
}

at_status at_net_reload_tls(struct at_server *srv, const char *cert_pem, size_t cert_len,
                            const char *key_pem, size_t key_len, struct at_err *e)
{
    AT_ENSURE(srv->net != NULL && srv->net->tls != NULL, e, AT_E_INTERNAL, "tls_reload",
              "not running");
    return at_tls_store_reload(srv->net->tls, cert_pem, cert_len, key_pem, key_len, e);
}
