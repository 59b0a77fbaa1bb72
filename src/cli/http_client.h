/*
 * attestctl's HTTPS client (libcurl): one request, one response, for the remote
 * management commands. TLS 1.2 or later, peer and host name always verified (against
 * --cacert or the system store), connect and total timeouts, and a response size cap.
 *
 * The bearer token is secret: it is only ever placed in the Authorization header,
 * never printed, and curl's verbose output stays off. Not thread-safe (one request at
 * a time per process, which is all attestctl does).
 */
#ifndef AT_CLI_HTTP_CLIENT_H
#define AT_CLI_HTTP_CLIENT_H

#include <stddef.h>

/* Largest response body accepted, in bytes. */
#define AT_HTTP_MAX_RESPONSE ((size_t)1 << 20)
#define AT_HTTP_CONNECT_TIMEOUT_MS 10000L
#define AT_HTTP_TOTAL_TIMEOUT_MS   60000L

struct at_http_req {
    const char *method;       /* "GET", "PUT", "POST" or "DELETE" */
    const char *url;          /* absolute https:// URL (other schemes are refused) */
    const char *cacert;       /* PEM file of trusted roots, or NULL for the system store */
    const char *token;        /* bearer token (borrowed, never copied out), or NULL */
    const char *content_type; /* of body; NULL when there is no body */
    const char *body;         /* request body (borrowed), or NULL */
    size_t body_len;
};

struct at_http_resp {
    long status;     /* HTTP status code */
    char *body;      /* heap, NUL-terminated (not counted); free with at_http_resp_clear */
    size_t body_len;
};

/*
 * Perform one request. Returns 0 with *resp filled on any HTTP answer (whatever its
 * status), or -1 with a message in err[errcap] (never containing the token) when no
 * answer came: bad URL, connection, TLS, timeout, or a body over AT_HTTP_MAX_RESPONSE.
 */
int at_http_request(const struct at_http_req *req, struct at_http_resp *resp, char *err,
                    size_t errcap);

void at_http_resp_clear(struct at_http_resp *resp);

#endif
