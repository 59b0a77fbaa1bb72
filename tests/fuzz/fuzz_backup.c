/*
 * Fuzz target for backup files (src/backup/): the first byte picks the path.
 *   0: at_backup_header_parse over the rest (magic, version, KDF bounds, lengths)
 *   1: at_backup_open over the rest with a fixed raw key (header, AES-GCM, then the
 *      decrypted JSON and schema when the input is a real backup under that key)
 *   2: at_backup_parse_doc over the rest as plaintext JSON (the schema checker), and
 *      for an accepted document: counts agree and its diff with itself is empty
 *   3: the rest as JSON sealed under the fixed key and opened again (the whole
 *      post-decryption path on documents the fuzzer did not have to encrypt)
 * Deterministic apart from the random nonce in path 3; no state between runs.
 */
#include "backup/backup.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_key(struct at_backup_key *k)
{
    memset(k, 0, sizeof(*k));
    k->kdf = AT_BACKUP_KDF_RAW;
    for (size_t i = 0; i < AT_BACKUP_KEY_LEN; i++) {
        k->raw[i] = (uint8_t)i;
    }
}

static void check_accepted(json_t *doc)
{
    struct at_err e;
    at_err_init(&e);
    struct at_backup_counts c;
    if (!at_is_ok(at_backup_check_doc(doc, &c, &e)) ||
        c.providers != json_array_size(json_object_get(doc, "providers")) ||
        c.roles != json_array_size(json_object_get(doc, "role_assignments"))) {
        abort();
    }
    FILE *devnull = fopen("/dev/null", "w");
    size_t changes = 1;
    if (devnull != NULL) {
        if (!at_is_ok(at_backup_diff(doc, doc, devnull, &changes, &e)) || changes != 0) {
            abort();
        }
        fclose(devnull);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > ((size_t)1 << 20)) {
        return 0;
    }
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    struct at_err e;
    at_err_init(&e);
    struct at_backup_key k;
    fuzz_key(&k);
    json_t *doc = NULL;
    switch (data[0] & 3) {
    case 0: {
        struct at_backup_header h;
        if (at_is_ok(at_backup_header_parse(p, n, &h, &e)) &&
            (n != AT_BACKUP_HEADER_LEN + h.ct_len + AT_BACKUP_TAG_LEN ||
             h.format != AT_BACKUP_FORMAT)) {
            abort();
        }
        break;
    }
    case 1:
        if (at_is_ok(at_backup_open(p, n, &k, &doc, &e))) {
            check_accepted(doc);
            at_backup_doc_free(doc);
        }
        break;
    case 2:
        if (at_is_ok(at_backup_parse_doc(p, n, &doc, &e))) {
            check_accepted(doc);
            at_backup_doc_free(doc);
        }
        break;
    default: {
        json_t *j = json_loadb((const char *)p, n, 0, NULL);
        uint8_t *file = NULL;
        size_t len = 0;
        if (j != NULL && at_is_ok(at_backup_seal(j, &k, &file, &len, &e))) {
            at_status s = at_backup_open(file, len, &k, &doc, &e);
            struct at_err e2;
            at_err_init(&e2);
            /* Sealing then opening agrees with checking the plaintext directly. */
            json_t *direct = NULL;
            char *txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
            at_status s2 =
                txt != NULL ? at_backup_parse_doc((const uint8_t *)txt, strlen(txt), &direct, &e2)
                            : s;
            if (at_is_ok(s) != at_is_ok(s2)) {
                abort();
            }
            if (at_is_ok(s)) {
                check_accepted(doc);
            }
            at_backup_doc_free(doc);
            at_backup_doc_free(direct);
            free(txt);
        }
        free(file);
        json_decref(j);
        break;
    }
    }
    at_backup_key_clear(&k);
    return 0;
}
