/*
 * Remote management for attestctl: the global --url/--token-file/--cacert options
 * (or $ATTESTD_URL, $ATTESTD_TOKEN holding the token itself, $ATTESTD_CACERT), one
 * HTTPS call with MAA-style error reporting, and checking the server's result tokens
 * against its /certs.
 *
 * Exit codes of every function returning int: 0 ok, 1 the server refused or a result
 * did not verify (the MAA error code and message go to stderr), 2 usage, I/O or
 * connection errors. The bearer token is never printed.
 */
#ifndef AT_CLI_REMOTE_H
#define AT_CLI_REMOTE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* api-version of the MAA data and management plane calls. */
#define AT_REMOTE_API "api-version=2020-10-01"

/* Global options, set by main() before any command runs (attestctl.c). */
const char *at_cli_url(void);        /* --url, else $ATTESTD_URL, else NULL */
const char *at_cli_token_file(void); /* --token-file or NULL */
const char *at_cli_cacert(void);     /* --cacert, else $ATTESTD_CACERT, else NULL */

/* Is a remote URL configured (the commands then go remote)? */
bool at_cli_remote_enabled(void);

struct at_remote {
    const char *cmd;  /* "provider", ... for messages */
    char base[1024];  /* the URL without trailing slashes */
    const char *cacert;
    char *token;      /* heap; wiped on close */
    size_t token_cap;
};

/* Validate the URL and load the token. Returns an exit code; close in any case. */
int at_remote_open(struct at_remote *r, const char *cmd);
void at_remote_close(struct at_remote *r);

/*
 * One request to base + path (path starts with '/', query included). On a 2xx answer
 * returns 0 and *out is the parsed JSON body (NULL when the body is empty; out may be
 * NULL when not wanted). Otherwise prints "attestctl CMD: HTTP S CODE: message" and
 * returns 1, or prints the transport error and returns 2.
 */
int at_remote_call(struct at_remote *r, const char *method, const char *path,
                   const char *content_type, const char *body, size_t body_len, json_t **out);

/*
 * The claims of a {"token": JWT} result after verifying its signature with
 * at_jwt_verify against GET /providers/PROVIDER/certs. 1 when it does not verify.
 */
int at_remote_result(struct at_remote *r, const char *provider, const json_t *resp,
                     json_t **claims);

/* Percent-encode a query value (curl_easy_escape). Heap (free()); NULL on failure. */
char *at_remote_escape(const char *s);

/* Print JSON indented to stdout and release it; 0, or 2 when it cannot be written. */
int at_remote_emit(const char *cmd, json_t *j);

/* Read a whole file (at most max bytes) for a command; prints errors; exit code. */
int at_remote_read_file(const char *cmd, const char *path, size_t max, unsigned char **out,
                        size_t *len);

/*
 * Append the standard base64 DER of every certificate in the PEM file `path` to the JSON
 * array `x5c` (at most max_total entries in it). When kty is not NULL it receives "RSA" or
 * "EC" for the first certificate, from its signature algorithm (maa-api.md §2.6).
 * Prints errors; returns an exit code (2 unreadable, 1 not certificates or too many).
 */
int at_remote_certs_x5c(const char *cmd, const char *path, json_t *x5c, size_t max_total,
                        const char **kty);
/* Remote halves of commands that also work locally (cmd_*_remote.c). */
int at_cli_provider_remote(int argc, char **argv);
int at_cli_policy_remote(int argc, char **argv);
/* attestctl policy sign (local; cmd_policy_remote.c). */
int at_cli_policy_sign(int argc, char **argv);

#endif
