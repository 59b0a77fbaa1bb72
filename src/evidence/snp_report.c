/*
 * The SEV-SNP ATTESTATION_REPORT parser (evidence-formats.md §3.1): structure only, every
 * byte read through the cursor. Views in the result borrow from the input.
 */
#include "base/cursor.h"
#include "evidence/snp.h"

#include <string.h>

#define CHECK "report_structure"

/* signer info (0x048): bit0 AUTHOR_KEY_EN, bit1 MASK_CHIP_KEY, bits 4:2 SIGNING_KEY. */
#define SIGNER_AUTHOR_KEY_EN 0x1u
#define SIGNER_MASK_CHIP_KEY 0x2u
#define SIGNER_KEY_SHIFT     2
#define SIGNER_KEY_MASK      0x7u
#define SIGNER_MBZ           0xFFFFFFE0u

/* POLICY bit 17 is reserved and must be 1 (§3.3). */
#define POLICY_RESERVED_ONE (UINT64_C(1) << 17)

/* The signature area: R and S, 72 bytes each, little-endian, then zeros. */
#define SIG_HALF_LEN  72
#define SIG_COORD_LEN 48
#define SIG_AREA_LEN  (AT_SNP_REPORT_LEN - AT_SNP_SIGNED_LEN)

static at_status fail_at(struct at_err *e, enum at_code code, const char *field, size_t off,
                         const char *what)
{
    at_status s = at_fail_at_(e, code, field, off, __FILE__, __LINE__,
                              "SNP report: %s at offset 0x%zx", what, off);
    at_err_check(e, CHECK);
    return s;
}

/* A reserved range: borrow it and require every byte to be zero. */
static at_status mbz(struct at_cur *c, const char *field, size_t n)
{
    size_t at = at_cur_pos(c);
    const uint8_t *v;
    AT_TRY(at_cur_bytes(c, field, n, &v));
    for (size_t i = 0; i < n; i++) {
        if (v[i] != 0) {
            return fail_at(c->err, AT_E_BAD_VALUE, field, at + i, "reserved byte is not zero");
        }
    }
    return at_ok();
}

static at_status header(struct at_cur *c, struct at_snp_report *r)
{
    struct at_err *e = c->err;
    /* 0x000 VERSION: 2, 3, 4 (v3 layout), 5. */
    AT_TRY(at_cur_u32le(c, "version", &r->version));
    if (r->version < 2 || r->version > 5) {
        at_status s =
            at_fail_at_(e, AT_E_UNSUPPORTED, "version", 0, __FILE__, __LINE__,
                        "SNP report version %u is not supported (2, 3, 4, 5)", r->version);
        at_err_check(e, CHECK);
        return s;
    }
    AT_TRY(at_cur_u32le(c, "guest_svn", &r->guest_svn)); /* 0x004 */
    AT_TRY(at_cur_u64le(c, "policy", &r->policy));       /* 0x008, §3.3 */
    if ((r->policy & POLICY_RESERVED_ONE) == 0) {
        return fail_at(e, AT_E_BAD_VALUE, "policy", 0x008,
                       "POLICY bit 17 (reserved, must be 1) is 0");
    }
    AT_TRY(at_cur_bytes(c, "family_id", 16, &r->family_id)); /* 0x010 */
    AT_TRY(at_cur_bytes(c, "image_id", 16, &r->image_id));   /* 0x020 */
    AT_TRY(at_cur_u32le(c, "vmpl", &r->vmpl));               /* 0x030 */
    AT_TRY(at_cur_u32le(c, "signature_algo", &r->sig_algo)); /* 0x034 */
    if (r->sig_algo != 1) {
        at_status s =
            at_fail_at_(e, AT_E_UNSUPPORTED, "signature_algo", 0x034, __FILE__, __LINE__,
                        "SNP report SIGNATURE_ALGO %u is not 1 (ECDSA P-384 SHA-384)", r->sig_algo);
        at_err_check(e, CHECK);
        return s;
    }
    AT_TRY(at_cur_u64le(c, "current_tcb", &r->current_tcb));     /* 0x038 */
    AT_TRY(at_cur_u64le(c, "platform_info", &r->platform_info)); /* 0x040 */
    AT_TRY(at_cur_u32le(c, "signer_info", &r->signer_info));     /* 0x048 */
    if ((r->signer_info & SIGNER_MBZ) != 0) {
        return fail_at(e, AT_E_BAD_VALUE, "signer_info", 0x048,
                       "signer info bits 31:5 are not zero");
    }
    uint32_t key = (r->signer_info >> SIGNER_KEY_SHIFT) & SIGNER_KEY_MASK;
    if (key != AT_SNP_KEY_VCEK && key != AT_SNP_KEY_VLEK) {
        return fail_at(e, AT_E_BAD_VALUE, "signing_key", 0x048,
                       "SIGNING_KEY is neither VCEK (0) nor VLEK (1)");
    }
    r->signing_key = key == AT_SNP_KEY_VCEK ? AT_SNP_KEY_VCEK : AT_SNP_KEY_VLEK;
    r->author_key_en = (r->signer_info & SIGNER_AUTHOR_KEY_EN) != 0;
    r->mask_chip_key = (r->signer_info & SIGNER_MASK_CHIP_KEY) != 0;
    return mbz(c, "reserved_04c", 4); /* 0x04C */
}

static at_status body(struct at_cur *c, struct at_snp_report *r)
{
    AT_TRY(at_cur_bytes(c, "report_data", 64, &r->report_data));             /* 0x050 */
    AT_TRY(at_cur_bytes(c, "measurement", 48, &r->measurement));             /* 0x090 */
    AT_TRY(at_cur_bytes(c, "host_data", 32, &r->host_data));                 /* 0x0C0 */
    AT_TRY(at_cur_bytes(c, "id_key_digest", 48, &r->id_key_digest));         /* 0x0E0 */
    AT_TRY(at_cur_bytes(c, "author_key_digest", 48, &r->author_key_digest)); /* 0x110 */
    AT_TRY(at_cur_bytes(c, "report_id", 32, &r->report_id));                 /* 0x140 */
    AT_TRY(at_cur_bytes(c, "report_id_ma", 32, &r->report_id_ma));           /* 0x160 */
    AT_TRY(at_cur_u64le(c, "reported_tcb", &r->reported_tcb));               /* 0x180 */
    if (r->version >= 3) {
        /* 0x188 CPUID_FAM_ID, CPUID_MOD_ID, CPUID_STEP (v3+). */
        AT_TRY(at_cur_u8(c, "cpuid_fam_id", &r->cpuid_fam));
        AT_TRY(at_cur_u8(c, "cpuid_mod_id", &r->cpuid_mod));
        AT_TRY(at_cur_u8(c, "cpuid_step", &r->cpuid_step));
    } else {
        AT_TRY(mbz(c, "reserved_188", 3)); /* v2: reserved */
    }
    AT_TRY(mbz(c, "reserved_18b", 0x1A0 - 0x18B));
    AT_TRY(at_cur_bytes(c, "chip_id", 64, &r->chip_id));         /* 0x1A0 */
    AT_TRY(at_cur_u64le(c, "committed_tcb", &r->committed_tcb)); /* 0x1E0 */
    AT_TRY(at_cur_u8(c, "current_build", &r->current_build));    /* 0x1E8 */
    AT_TRY(at_cur_u8(c, "current_minor", &r->current_minor));
    AT_TRY(at_cur_u8(c, "current_major", &r->current_major));
    AT_TRY(mbz(c, "reserved_1eb", 1));
    AT_TRY(at_cur_u8(c, "committed_build", &r->committed_build)); /* 0x1EC */
    AT_TRY(at_cur_u8(c, "committed_minor", &r->committed_minor));
    AT_TRY(at_cur_u8(c, "committed_major", &r->committed_major));
    AT_TRY(mbz(c, "reserved_1ef", 1));
    AT_TRY(at_cur_u64le(c, "launch_tcb", &r->launch_tcb)); /* 0x1F0 */
    if (r->version >= 5) {
        /* 0x1F8 LAUNCH_MIT_VECTOR, 0x200 CURRENT_MIT_VECTOR (v5). */
        AT_TRY(at_cur_u64le(c, "launch_mit_vector", &r->launch_mit_vector));
        AT_TRY(at_cur_u64le(c, "current_mit_vector", &r->current_mit_vector));
    } else {
        AT_TRY(mbz(c, "reserved_1f8", 16));
    }
    return mbz(c, "reserved_208", AT_SNP_SIGNED_LEN - 0x208);
}

/* 0x2A0: R and S, each 72 bytes little-endian of which only the low 48 may be non-zero. */
static at_status signature(struct at_cur *c, struct at_snp_report *r)
{
    AT_TRY(at_cur_bytes(c, "signature", 2 * SIG_HALF_LEN, &r->signature));
    for (size_t half = 0; half < 2; half++) {
        const uint8_t *p = r->signature + half * SIG_HALF_LEN;
        for (size_t i = SIG_COORD_LEN; i < SIG_HALF_LEN; i++) {
            if (p[i] != 0) {
                at_status s =
                    fail_at(c->err, AT_E_BAD_VALUE, half == 0 ? "signature_r" : "signature_s",
                            AT_SNP_SIGNED_LEN + half * SIG_HALF_LEN + i,
                            "signature padding beyond 48 bytes is not zero");
                return s;
            }
        }
    }
    return mbz(c, "reserved_signature", SIG_AREA_LEN - 2 * SIG_HALF_LEN);
}

at_status at_snp_report_parse(const uint8_t *p, size_t len, struct at_snp_report *out,
                              struct at_err *e)
{
    /* The report is exactly 0x4A0 bytes; a host cert table travels separately. */
    if (p == NULL || len < AT_SNP_REPORT_LEN) {
        at_status s = at_fail_at_(e, AT_E_TRUNCATED, "report", len, __FILE__, __LINE__,
                                  "SNP report is %zu bytes, expected %u", p == NULL ? 0 : len,
                                  (unsigned)AT_SNP_REPORT_LEN);
        at_err_check(e, CHECK);
        return s;
    }
    if (len > AT_SNP_REPORT_LEN) {
        at_status s =
            at_fail_at_(e, AT_E_TRAILING, "report", AT_SNP_REPORT_LEN, __FILE__, __LINE__,
                        "SNP report is %zu bytes, expected %u", len, (unsigned)AT_SNP_REPORT_LEN);
        at_err_check(e, CHECK);
        return s;
    }
    struct at_snp_report r;
    memset(&r, 0, sizeof(r));
    struct at_cur c;
    at_cur_init(&c, p, len, e);
    AT_TRY(header(&c, &r));
    AT_TRY(body(&c, &r));
    AT_TRY(signature(&c, &r));
    AT_TRY(at_cur_end(&c, "SNP report"));
    *out = r;
    return at_ok();
}
