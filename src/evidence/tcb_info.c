/*
 * Intel PCS TCB info (v2, v3; SGX and TDX) and enclave identity (v2) parsers
 * (evidence-formats.md §1.8).
 *
 * Input is the exact signed body (untrusted). It is first scanned by
 * at_json_check_object (strict grammar, bounded depth, byte offsets for
 * truncation and trailing bytes), then loaded with jansson using
 * JSON_REJECT_DUPLICATES, then every field we use is checked for type, length
 * and domain. Members we do not use are ignored: Intel adds fields over time.
 *
 * Ownership: the parsed structs own their arrays and strings; free them with
 * at_tcb_info_clear / at_qe_identity_clear. Outputs are written only on
 * success; on failure everything allocated so far is freed here.
 */
#include "evidence/tcb_info.h"

#include "base/encoding.h"
#include "base/limits.h"
#include "base/timeutil.h"
#include "evidence/pcs_json.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where we are in the document, for messages ("tcbLevels[3].tcb"). */
#define WHERE_MAX 96

static at_status pfail_(struct at_err *e, enum at_code code, const char *field, const char *file,
                        int line, const char *fmt, ...) AT_PRINTF(6, 7);

/* Fail with `code`, naming the JSON member in e->field (first failure wins). */
static at_status pfail_(struct at_err *e, enum at_code code, const char *field, const char *file,
                        int line, const char *fmt, ...)
{
    char msg[AT_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    bool first = e != NULL && e->code == AT_OK;
    at_status s = at_fail_(e, code, NULL, file, line, "%s", msg);
    if (first) {
        e->field = field;
    }
    return s;
}

#define PFAIL(e, code, field, ...) pfail_((e), (code), (field), __FILE__, __LINE__, __VA_ARGS__)

static void where_fmt(char *buf, const char *fmt, ...) AT_PRINTF(2, 3);

/* Format a location for messages into buf (WHERE_MAX bytes); truncation is harmless. */
static void where_fmt(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, WHERE_MAX, fmt, ap);
    va_end(ap);
}

static const char *type_name(json_type t)
{
    switch (t) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "a value";
}

/* obj[key] of type `t`; *out = NULL when absent and not required. */
static at_status get_member(const json_t *obj, const char *where, const char *key, json_type t,
                            bool required, json_t **out, struct at_err *e)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (required) {
            return PFAIL(e, AT_E_PARSE, key, "%s.%s: missing", where, key);
        }
        *out = NULL;
        return at_ok();
    }
    if (json_typeof(v) != t) {
        return PFAIL(e, AT_E_PARSE, key, "%s.%s: expected %s, got %s", where, key, type_name(t),
                     type_name(json_typeof(v)));
    }
    *out = v;
    return at_ok();
}

/* A required integer in [0, max]. */
static at_status get_uint(const json_t *obj, const char *where, const char *key, uint32_t max,
                          uint32_t *out, struct at_err *e)
{
    json_t *v = NULL;
    AT_TRY(get_member(obj, where, key, JSON_INTEGER, true, &v, e));
    json_int_t i = json_integer_value(v);
    if (i < 0 || (unsigned long long)i > max) {
        return PFAIL(e, AT_E_BAD_VALUE, key, "%s.%s: %lld is outside 0..%u", where, key,
                     (long long)i, max);
    }
    *out = (uint32_t)i;
    return at_ok();
}

static at_status get_u8(const json_t *obj, const char *where, const char *key, uint8_t *out,
                        struct at_err *e)
{
    uint32_t v = 0;
    AT_TRY(get_uint(obj, where, key, UINT8_MAX, &v, e));
    *out = (uint8_t)v;
    return at_ok();
}

static at_status get_u16(const json_t *obj, const char *where, const char *key, uint16_t *out,
                         struct at_err *e)
{
    uint32_t v = 0;
    AT_TRY(get_uint(obj, where, key, UINT16_MAX, &v, e));
    *out = (uint16_t)v;
    return at_ok();
}

/* A required string of exactly 2n hex characters (either case, §0.1) -> n bytes. */
static at_status get_hex(const json_t *obj, const char *where, const char *key, uint8_t *out,
                         size_t n, struct at_err *e)
{
    json_t *v = NULL;
    size_t got;
    AT_TRY(get_member(obj, where, key, JSON_STRING, true, &v, e));
    if (json_string_length(v) != 2 * n) {
        return PFAIL(e, AT_E_BAD_VALUE, key, "%s.%s: expected %zu hex characters, got %zu", where,
                     key, 2 * n, json_string_length(v));
    }
    uint8_t tmp[64];
    at_assert(n <= sizeof(tmp));
    struct at_err sub;
    at_err_init(&sub);
    if (!at_is_ok(at_hex_decode(json_string_value(v), 2 * n, tmp, n, &got, &sub)) || got != n) {
        return PFAIL(e, AT_E_PARSE, key, "%s.%s: not hex", where, key);
    }
    memcpy(out, tmp, n);
    return at_ok();
}

/* A required ISO 8601 date ("2025-02-26T10:37:20Z"). */
static at_status get_date(const json_t *obj, const char *where, const char *key, int64_t *out,
                          struct at_err *e)
{
    json_t *v = NULL;
    AT_TRY(get_member(obj, where, key, JSON_STRING, true, &v, e));
    struct at_err sub;
    at_err_init(&sub);
    if (!at_is_ok(at_time_parse(json_string_value(v), json_string_length(v), out, &sub))) {
        return PFAIL(e, AT_E_BAD_VALUE, key, "%s.%s: %s", where, key, sub.msg);
    }
    return at_ok();
}

/* Platform levels may carry any of the seven §1.8 statuses; QE and module levels three. */
enum status_set { STATUS_PLATFORM, STATUS_IDENTITY };

static const struct {
    const char *name;
    enum at_tcb_status status;
    bool identity_ok;
} status_names[] = {
    {"UpToDate", AT_TCB_UP_TO_DATE, true},
    {"SWHardeningNeeded", AT_TCB_SW_HARDENING_NEEDED, false},
    {"ConfigurationNeeded", AT_TCB_CONFIGURATION_NEEDED, false},
    {"ConfigurationAndSWHardeningNeeded", AT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED, false},
    {"OutOfDate", AT_TCB_OUT_OF_DATE, true},
    {"OutOfDateConfigurationNeeded", AT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED, false},
    {"Revoked", AT_TCB_REVOKED, true},
};

static at_status get_status(const json_t *obj, const char *where, enum status_set set,
                            enum at_tcb_status *out, struct at_err *e)
{
    json_t *v = NULL;
    AT_TRY(get_member(obj, where, "tcbStatus", JSON_STRING, true, &v, e));
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++) {
        if (strlen(status_names[i].name) == len && memcmp(status_names[i].name, s, len) == 0 &&
            (set == STATUS_PLATFORM || status_names[i].identity_ok)) {
            *out = status_names[i].status;
            return at_ok();
        }
    }
    return PFAIL(e, AT_E_BAD_VALUE, "tcbStatus", "%s.tcbStatus: unrecognized status '%.40s'", where,
                 s);
}

/* Optional advisoryIDs: at most AT_LIMIT_ADVISORIES non-empty printable-ASCII strings. */
static at_status get_advisories(const json_t *obj, const char *where, struct at_tcb_level *l,
                                struct at_err *e)
{
    json_t *arr = NULL;
    AT_TRY(get_member(obj, where, "advisoryIDs", JSON_ARRAY, false, &arr, e));
    if (arr == NULL || json_array_size(arr) == 0) {
        return at_ok();
    }
    size_t n = json_array_size(arr);
    if (n > AT_LIMIT_ADVISORIES) {
        return PFAIL(e, AT_E_LIMIT, "advisoryIDs", "%s.advisoryIDs: %zu entries, at most %u", where,
                     n, AT_LIMIT_ADVISORIES);
    }
    l->advisories = calloc(n, sizeof(char *));
    if (l->advisories == NULL) {
        return PFAIL(e, AT_E_NOMEM, "advisoryIDs", "out of memory");
    }
    l->n_advisories = n;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_string(v) || json_string_length(v) == 0) {
            return PFAIL(e, AT_E_PARSE, "advisoryIDs", "%s.advisoryIDs[%zu]: expected a string",
                         where, i);
        }
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        for (size_t k = 0; k < len; k++) {
            if (s[k] < 0x21 || s[k] > 0x7e) {
                return PFAIL(e, AT_E_BAD_VALUE, "advisoryIDs",
                             "%s.advisoryIDs[%zu]: not printable ASCII", where, i);
            }
        }
        l->advisories[i] = malloc(len + 1);
        if (l->advisories[i] == NULL) {
            return PFAIL(e, AT_E_NOMEM, "advisoryIDs", "out of memory");
        }
        memcpy(l->advisories[i], s, len + 1);
    }
    return at_ok();
}

/* A required, non-empty tcbLevels array of at most AT_LIMIT_TCB_LEVELS levels. */
static at_status get_levels(const json_t *obj, const char *where, json_t **arr,
                            struct at_tcb_level **levels, size_t *n_levels, struct at_err *e)
{
    AT_TRY(get_member(obj, where, "tcbLevels", JSON_ARRAY, true, arr, e));
    size_t n = json_array_size(*arr);
    if (n == 0) {
        return PFAIL(e, AT_E_BAD_VALUE, "tcbLevels", "%s.tcbLevels: empty", where);
    }
    if (n > AT_LIMIT_TCB_LEVELS) {
        return PFAIL(e, AT_E_LIMIT, "tcbLevels", "%s.tcbLevels: %zu levels, at most %u", where, n,
                     AT_LIMIT_TCB_LEVELS);
    }
    *levels = calloc(n, sizeof(**levels));
    if (*levels == NULL) {
        return PFAIL(e, AT_E_NOMEM, "tcbLevels", "out of memory");
    }
    *n_levels = n;
    return at_ok();
}

static at_status level_object(const json_t *arr, size_t i, const char *where, char *sub,
                              json_t **jl, struct at_err *e)
{
    where_fmt(sub, "%s.tcbLevels[%zu]", where, i);
    *jl = json_array_get(arr, i);
    if (!json_is_object(*jl)) {
        return PFAIL(e, AT_E_PARSE, "tcbLevels", "%s: expected an object", sub);
    }
    return at_ok();
}

/* An identity level (QE identity or TDX module identity): tcb{isvsvn}, date, status. */
static at_status parse_isv_level(const json_t *jl, const char *where, struct at_tcb_level *l,
                                 struct at_err *e)
{
    json_t *tcb = NULL;
    AT_TRY(get_member(jl, where, "tcb", JSON_OBJECT, true, &tcb, e));
    AT_TRY(get_u16(tcb, where, "isvsvn", &l->isvsvn, e));
    AT_TRY(get_date(jl, where, "tcbDate", &l->tcb_date, e));
    AT_TRY(get_status(jl, where, STATUS_IDENTITY, &l->status, e));
    return get_advisories(jl, where, l, e);
}

static at_status parse_isv_levels(const json_t *obj, const char *where,
                                  struct at_tcb_level **levels, size_t *n_levels, struct at_err *e)
{
    json_t *arr = NULL, *jl = NULL;
    char sub[WHERE_MAX];
    AT_TRY(get_levels(obj, where, &arr, levels, n_levels, e));
    for (size_t i = 0; i < *n_levels; i++) {
        AT_TRY(level_object(arr, i, where, sub, &jl, e));
        AT_TRY(parse_isv_level(jl, sub, &(*levels)[i], e));
    }
    return at_ok();
}

/* v3: an array of exactly 16 {svn, category?, type?} objects, svn in 0..255. */
static at_status parse_components(const json_t *tcb, const char *where, const char *key,
                                  uint8_t out[16], struct at_err *e)
{
    json_t *arr = NULL;
    AT_TRY(get_member(tcb, where, key, JSON_ARRAY, true, &arr, e));
    if (json_array_size(arr) != 16) {
        return PFAIL(e, AT_E_BAD_VALUE, key, "%s.%s: expected 16 components, got %zu", where, key,
                     json_array_size(arr));
    }
    for (size_t i = 0; i < 16; i++) {
        char sub[WHERE_MAX];
        where_fmt(sub, "%s.%s[%zu]", where, key, i);
        json_t *c = json_array_get(arr, i);
        if (!json_is_object(c)) {
            return PFAIL(e, AT_E_PARSE, key, "%s: expected an object", sub);
        }
        AT_TRY(get_u8(c, sub, "svn", &out[i], e));
    }
    return at_ok();
}

static const char *const v2_comp_keys[16] = {
    "sgxtcbcomp01svn", "sgxtcbcomp02svn", "sgxtcbcomp03svn", "sgxtcbcomp04svn",
    "sgxtcbcomp05svn", "sgxtcbcomp06svn", "sgxtcbcomp07svn", "sgxtcbcomp08svn",
    "sgxtcbcomp09svn", "sgxtcbcomp10svn", "sgxtcbcomp11svn", "sgxtcbcomp12svn",
    "sgxtcbcomp13svn", "sgxtcbcomp14svn", "sgxtcbcomp15svn", "sgxtcbcomp16svn",
};

/* One platform level (§1.8): v3 component arrays or v2 sgxtcbcompNNsvn, plus pcesvn. */
static at_status parse_platform_level(const json_t *jl, const char *where,
                                      const struct at_tcb_info *ti, struct at_tcb_level *l,
                                      struct at_err *e)
{
    json_t *tcb = NULL;
    char sub[WHERE_MAX];
    where_fmt(sub, "%s.tcb", where);
    AT_TRY(get_member(jl, where, "tcb", JSON_OBJECT, true, &tcb, e));
    if (ti->version == 2) {
        for (size_t i = 0; i < 16; i++) {
            AT_TRY(get_u8(tcb, sub, v2_comp_keys[i], &l->sgx[i], e));
        }
    } else {
        AT_TRY(parse_components(tcb, sub, "sgxtcbcomponents", l->sgx, e));
        if (ti->is_tdx) {
            AT_TRY(parse_components(tcb, sub, "tdxtcbcomponents", l->tdx, e));
            l->has_tdx = true;
        }
    }
    AT_TRY(get_u16(tcb, sub, "pcesvn", &l->pcesvn, e));
    AT_TRY(get_date(jl, where, "tcbDate", &l->tcb_date, e));
    AT_TRY(get_status(jl, where, STATUS_PLATFORM, &l->status, e));
    return get_advisories(jl, where, l, e);
}

/* "TDX_" + two hex digits (QVL compares case-insensitively, §1.9 step 10). */
static bool module_id_ok(const char *s, size_t len)
{
    return len == 6 && (s[0] == 'T' || s[0] == 't') && (s[1] == 'D' || s[1] == 'd') &&
           (s[2] == 'X' || s[2] == 'x') && s[3] == '_' &&
           ((s[4] >= '0' && s[4] <= '9') || (s[4] >= 'a' && s[4] <= 'f') ||
            (s[4] >= 'A' && s[4] <= 'F')) &&
           ((s[5] >= '0' && s[5] <= '9') || (s[5] >= 'a' && s[5] <= 'f') ||
            (s[5] >= 'A' && s[5] <= 'F'));
}

static bool id_equal_nocase(const char *a, const char *b)
{
    for (size_t i = 0;; i++) {
        char x = a[i], y = b[i];
        if (x >= 'a' && x <= 'z') {
            x = (char)(x - 'a' + 'A');
        }
        if (y >= 'a' && y <= 'z') {
            y = (char)(y - 'a' + 'A');
        }
        if (x != y) {
            return false;
        }
        if (x == '\0') {
            return true;
        }
    }
}

static at_status parse_module_identity(const json_t *jm, const char *where,
                                       struct at_tdx_module_identity *m, struct at_err *e)
{
    json_t *id = NULL;
    if (!json_is_object(jm)) {
        return PFAIL(e, AT_E_PARSE, "tdxModuleIdentities", "%s: expected an object", where);
    }
    AT_TRY(get_member(jm, where, "id", JSON_STRING, true, &id, e));
    if (!module_id_ok(json_string_value(id), json_string_length(id))) {
        return PFAIL(e, AT_E_BAD_VALUE, "id", "%s.id: expected TDX_<2 hex>", where);
    }
    memcpy(m->id, json_string_value(id), 7);
    AT_TRY(get_hex(jm, where, "mrsigner", m->mrsigner, sizeof(m->mrsigner), e));
    AT_TRY(get_hex(jm, where, "attributes", m->attributes, sizeof(m->attributes), e));
    AT_TRY(get_hex(jm, where, "attributesMask", m->attributes_mask, sizeof(m->attributes_mask), e));
    return parse_isv_levels(jm, where, &m->levels, &m->n_levels, e);
}

/* TDX only (§1.8): tdxModule{mrsigner, attributes, attributesMask}, tdxModuleIdentities[]. */
static at_status parse_tdx_module(const json_t *root, struct at_tcb_info *ti, struct at_err *e)
{
    json_t *mod = NULL, *ids = NULL;
    AT_TRY(get_member(root, "tcbInfo", "tdxModule", JSON_OBJECT, true, &mod, e));
    AT_TRY(
        get_hex(mod, "tdxModule", "mrsigner", ti->module_mrsigner, sizeof(ti->module_mrsigner), e));
    AT_TRY(get_hex(mod, "tdxModule", "attributes", ti->module_attributes,
                   sizeof(ti->module_attributes), e));
    AT_TRY(get_hex(mod, "tdxModule", "attributesMask", ti->module_attributes_mask,
                   sizeof(ti->module_attributes_mask), e));
    ti->has_tdx_module = true;
    AT_TRY(get_member(root, "tcbInfo", "tdxModuleIdentities", JSON_ARRAY, false, &ids, e));
    if (ids == NULL || json_array_size(ids) == 0) {
        return at_ok();
    }
    size_t n = json_array_size(ids);
    if (n > AT_LIMIT_MODULE_IDS) {
        return PFAIL(e, AT_E_LIMIT, "tdxModuleIdentities",
                     "tcbInfo.tdxModuleIdentities: %zu entries, at most %u", n,
                     AT_LIMIT_MODULE_IDS);
    }
    ti->module_ids = calloc(n, sizeof(*ti->module_ids));
    if (ti->module_ids == NULL) {
        return PFAIL(e, AT_E_NOMEM, "tdxModuleIdentities", "out of memory");
    }
    ti->n_module_ids = n;
    for (size_t i = 0; i < n; i++) {
        char where[WHERE_MAX];
        where_fmt(where, "tcbInfo.tdxModuleIdentities[%zu]", i);
        AT_TRY(parse_module_identity(json_array_get(ids, i), where, &ti->module_ids[i], e));
        for (size_t k = 0; k < i; k++) {
            if (id_equal_nocase(ti->module_ids[k].id, ti->module_ids[i].id)) {
                return PFAIL(e, AT_E_BAD_VALUE, "id", "%s.id: duplicate module identity %s", where,
                             ti->module_ids[i].id);
            }
        }
    }
    return at_ok();
}

static at_status parse_dates(const json_t *root, const char *where, int64_t *issue, int64_t *next,
                             struct at_err *e)
{
    AT_TRY(get_date(root, where, "issueDate", issue, e));
    AT_TRY(get_date(root, where, "nextUpdate", next, e));
    if (*next < *issue) {
        return PFAIL(e, AT_E_BAD_VALUE, "nextUpdate", "%s.nextUpdate is before issueDate", where);
    }
    return at_ok();
}

static at_status parse_tcb_info_root(const json_t *root, struct at_tcb_info *ti, struct at_err *e)
{
    const char *w = "tcbInfo";
    uint32_t v = 0;
    json_t *id = NULL, *arr = NULL, *jl = NULL;
    char sub[WHERE_MAX];

    /* §1.8 / §1.9 step 4: version 3 (SGX may use the legacy version 2). */
    AT_TRY(get_uint(root, w, "version", UINT32_MAX, &v, e));
    if (v != 2 && v != 3) {
        return PFAIL(e, AT_E_UNSUPPORTED, "version", "tcbInfo.version %u is not supported", v);
    }
    ti->version = (int)v;
    /* id: "SGX" | "TDX" (v3 only; v2 documents are SGX and carry no id). */
    AT_TRY(get_member(root, w, "id", JSON_STRING, v == 3, &id, e));
    if (id != NULL) {
        if (strcmp(json_string_value(id), "TDX") == 0 && v == 3) {
            ti->is_tdx = true;
        } else if (strcmp(json_string_value(id), "SGX") != 0) {
            return PFAIL(e, AT_E_UNSUPPORTED, "id", "tcbInfo.id '%.16s' is not supported",
                         json_string_value(id));
        }
    }
    AT_TRY(parse_dates(root, w, &ti->issue_date, &ti->next_update, e));
    AT_TRY(get_hex(root, w, "fmspc", ti->fmspc, sizeof(ti->fmspc), e));
    AT_TRY(get_hex(root, w, "pceId", ti->pceid, sizeof(ti->pceid), e));
    /* tcbType must be 0: the only type whose 16 components QVL knows how to compare. */
    AT_TRY(get_uint(root, w, "tcbType", UINT32_MAX, &ti->tcb_type, e));
    if (ti->tcb_type != 0) {
        return PFAIL(e, AT_E_UNSUPPORTED, "tcbType", "tcbInfo.tcbType %u is not supported",
                     ti->tcb_type);
    }
    AT_TRY(get_uint(root, w, "tcbEvaluationDataNumber", UINT32_MAX, &ti->eval_data_number, e));
    if (ti->is_tdx) {
        AT_TRY(parse_tdx_module(root, ti, e));
    }
    AT_TRY(get_levels(root, w, &arr, &ti->levels, &ti->n_levels, e));
    for (size_t i = 0; i < ti->n_levels; i++) {
        AT_TRY(level_object(arr, i, w, sub, &jl, e));
        AT_TRY(parse_platform_level(jl, sub, ti, &ti->levels[i], e));
    }
    return at_ok();
}

/* Strict scan, then jansson with duplicate rejection; *root is the object. */
static at_status load_object(const uint8_t *body, size_t len, json_t **root, struct at_err *e)
{
    AT_TRY(at_json_check_object(body, len, e));
    json_error_t jerr;
    json_t *r = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (r == NULL) {
        size_t pos = jerr.position > 0 ? (size_t)jerr.position : 0;
        return at_fail_at_(e, AT_E_PARSE, "json", pos, __FILE__, __LINE__, "invalid JSON: %s",
                           jerr.text);
    }
    if (!json_is_object(r)) {
        json_decref(r);
        return PFAIL(e, AT_E_PARSE, "json", "expected a JSON object");
    }
    *root = r;
    return at_ok();
}

static void levels_free(struct at_tcb_level *levels, size_t n)
{
    for (size_t i = 0; levels != NULL && i < n; i++) {
        for (size_t k = 0; k < levels[i].n_advisories; k++) {
            free(levels[i].advisories[k]);
        }
        free(levels[i].advisories);
    }
    free(levels);
}

at_status at_tcb_info_parse(const uint8_t *body, size_t len, struct at_tcb_info *out,
                            struct at_err *e)
{
    json_t *root;
    struct at_tcb_info tmp;
    memset(&tmp, 0, sizeof(tmp));
    at_status s = load_object(body, len, &root, e);
    if (at_is_ok(s)) {
        s = parse_tcb_info_root(root, &tmp, e);
        json_decref(root);
    }
    if (!at_is_ok(s)) {
        at_tcb_info_clear(&tmp);
        at_err_check(e, "tcb_info_parse");
        return s;
    }
    *out = tmp;
    return at_ok();
}

void at_tcb_info_clear(struct at_tcb_info *ti)
{
    if (ti == NULL) {
        return;
    }
    for (size_t i = 0; ti->module_ids != NULL && i < ti->n_module_ids; i++) {
        levels_free(ti->module_ids[i].levels, ti->module_ids[i].n_levels);
    }
    free(ti->module_ids);
    levels_free(ti->levels, ti->n_levels);
    memset(ti, 0, sizeof(*ti));
}

/* §1.8 enclave identity v2: id QE | TD_QE | QVE. */
static at_status parse_qe_identity_root(const json_t *root, struct at_qe_identity *qi,
                                        struct at_err *e)
{
    const char *w = "enclaveIdentity";
    json_t *id = NULL;
    uint32_t v = 0;

    AT_TRY(get_member(root, w, "id", JSON_STRING, true, &id, e));
    const char *ids = json_string_value(id);
    if (strcmp(ids, "QE") == 0) {
        qi->id = AT_QEID_QE;
    } else if (strcmp(ids, "TD_QE") == 0) {
        qi->id = AT_QEID_TD_QE;
    } else if (strcmp(ids, "QVE") == 0) {
        qi->id = AT_QEID_QVE;
    } else {
        return PFAIL(e, AT_E_UNSUPPORTED, "id", "enclaveIdentity.id '%.16s' is not supported", ids);
    }
    AT_TRY(get_uint(root, w, "version", UINT32_MAX, &v, e));
    if (v != 2) {
        return PFAIL(e, AT_E_UNSUPPORTED, "version", "enclaveIdentity.version %u is not supported",
                     v);
    }
    qi->version = 2;
    AT_TRY(parse_dates(root, w, &qi->issue_date, &qi->next_update, e));
    AT_TRY(get_uint(root, w, "tcbEvaluationDataNumber", UINT32_MAX, &qi->eval_data_number, e));
    /* Hex values are in report byte order (§1.8): compared bytewise under the mask. */
    AT_TRY(get_hex(root, w, "miscselect", qi->miscselect, sizeof(qi->miscselect), e));
    AT_TRY(get_hex(root, w, "miscselectMask", qi->miscselect_mask, sizeof(qi->miscselect_mask), e));
    AT_TRY(get_hex(root, w, "attributes", qi->attributes, sizeof(qi->attributes), e));
    AT_TRY(get_hex(root, w, "attributesMask", qi->attributes_mask, sizeof(qi->attributes_mask), e));
    AT_TRY(get_hex(root, w, "mrsigner", qi->mrsigner, sizeof(qi->mrsigner), e));
    AT_TRY(get_u16(root, w, "isvprodid", &qi->isvprodid, e));
    return parse_isv_levels(root, w, &qi->levels, &qi->n_levels, e);
}

at_status at_qe_identity_parse(const uint8_t *body, size_t len, struct at_qe_identity *out,
                               struct at_err *e)
{
    json_t *root;
    struct at_qe_identity tmp;
    memset(&tmp, 0, sizeof(tmp));
    at_status s = load_object(body, len, &root, e);
    if (at_is_ok(s)) {
        s = parse_qe_identity_root(root, &tmp, e);
        json_decref(root);
    }
    if (!at_is_ok(s)) {
        at_qe_identity_clear(&tmp);
        at_err_check(e, "qe_identity_parse");
        return s;
    }
    *out = tmp;
    return at_ok();
}

void at_qe_identity_clear(struct at_qe_identity *qi)
{
    if (qi == NULL) {
        return;
    }
    levels_free(qi->levels, qi->n_levels);
    memset(qi, 0, sizeof(*qi));
}
