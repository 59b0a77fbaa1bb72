#!/usr/bin/env python3
"""End-to-end SevSnpVm attestation through the real daemon over TLS (standard library only).

    python3 test_snp.py --build-dir BUILD [--keep] [--no-vectors]

Synthetic part: gen_snp_evidence makes an AMD test PKI (ARK/ASK/ASVK RSA-4096 PSS, VCEK/VLEK
P-384) and reports bound to runtime/init-time data; attestd runs with `amd_ark = <test ARK>`
and --fixed-time = t0 + 1 day. POST /attest/SevSnpVm?api-version=2022-08-01 with the
maa-api.md §2.2 envelope; tokens are verified with the `openssl` command line against the
/certs x5c (as test_server.py does), claims against the values put into the report; then
the failure paths: api-version 2020-10-01, a tampered report, binding mismatches, envelope
errors, a policy denial.

Real-vector part: when the shared vectors exist ($ATTESTD_VECTORS or <repo>/../shared/vectors),
one attestd per passing snp/ vector runs with the production ARKs and --fixed-time =
meta.json verify_at, attests report.bin with VcekCertChain = vcek|vlek (PEM) + cert_chain.pem
and compares the token's claims with meta.json's maa_style claims; a NEG vector must fail.

Prints one line per check, then "N passed, M failed"; exits non-zero on any failure.
"""

import hashlib
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import b64url, policy_hash, read  # noqa: E402
from test_server import (TokenChecker, check_common, check_error, split_jwt,  # noqa: E402
                         token_of)

API_2020 = "api-version=2020-10-01"
API_2022 = "api-version=2022-08-01"
PATH = "/attest/SevSnpVm?" + API_2022

# The SevSnpVm default policy (claim-sets.md §5.3) and the hash MAA's example token carries.
DEFAULT_POLICY_HASH = "9NY0VnTQ-IiBriBplVUpFbczcDaEBUwsiFYAzHu_gco"

DRAFT_POLICY = ('version=1.0; authorizationrules{ => permit(); }; issuancerules{ '
                'c:[type=="x-ms-sevsnpvm-launchmeasurement"] => '
                'issue(type="snp-measurement", value=c.value); };')
NO_DEBUG_POLICY = ('version=1.0; authorizationrules{ '
                   'c:[type=="x-ms-sevsnpvm-is-debuggable", value==false] => permit(); }; '
                   'issuancerules{};')

# claim-sets.md §5.2: the MAA-documented SevSnpVm claims.
DOCUMENTED = {
    "x-ms-sevsnpvm-authorkeydigest", "x-ms-sevsnpvm-bootloader-svn", "x-ms-sevsnpvm-familyId",
    "x-ms-sevsnpvm-guestsvn", "x-ms-sevsnpvm-hostdata", "x-ms-sevsnpvm-idkeydigest",
    "x-ms-sevsnpvm-imageId", "x-ms-sevsnpvm-is-debuggable",
    "x-ms-sevsnpvm-launchmeasurement", "x-ms-sevsnpvm-microcode-svn",
    "x-ms-sevsnpvm-migration-allowed", "x-ms-sevsnpvm-reportdata", "x-ms-sevsnpvm-reportid",
    "x-ms-sevsnpvm-smt-allowed", "x-ms-sevsnpvm-snpfw-svn", "x-ms-sevsnpvm-tee-svn",
    "x-ms-sevsnpvm-vmpl",
}


def envelope(report, chain, extra=None):
    """maa-api.md §2.2: report = b64url(JSON {SnpReport, VcekCertChain, ...})."""
    doc = {"SnpReport": b64url(report), "VcekCertChain": b64url(chain)}
    doc.update(extra or {})
    return b64url(json.dumps(doc).encode("utf-8"))


def data(raw, json_type=False):
    return {"data": b64url(raw), "dataType": "JSON" if json_type else "Binary"}


def gen_snp_evidence(build, outdir, t0):
    tool = harness.binary(build, "gen_snp_evidence")
    if tool is None:
        raise RuntimeError("gen_snp_evidence not built in %s" % build)
    harness.run([tool, outdir, "--t0", str(int(t0))])
    with open(os.path.join(outdir, "expected.json")) as f:
        return json.load(f)


def check_snp_claims(t, name, b, exp):
    t.eq(name + ": x-ms-attestation-type", b.get("x-ms-attestation-type"), "sevsnpvm")
    for k in ("launchmeasurement", "reportdata", "hostdata", "idkeydigest", "authorkeydigest",
              "familyId", "imageId", "reportid", "guestsvn", "vmpl"):
        t.eq(name + ": x-ms-sevsnpvm-" + k, b.get("x-ms-sevsnpvm-" + k), exp[k])
    for k in ("bootloader", "tee", "snpfw", "microcode"):
        t.eq(name + ": x-ms-sevsnpvm-%s-svn" % k, b.get("x-ms-sevsnpvm-%s-svn" % k),
             exp[k + "_svn"])
    pol = exp["policy"]
    t.eq(name + ": x-ms-sevsnpvm-is-debuggable", b.get("x-ms-sevsnpvm-is-debuggable"),
         bool(pol & (1 << 19)))
    t.eq(name + ": x-ms-sevsnpvm-migration-allowed", b.get("x-ms-sevsnpvm-migration-allowed"),
         bool(pol & (1 << 18)))
    t.eq(name + ": x-ms-sevsnpvm-smt-allowed", b.get("x-ms-sevsnpvm-smt-allowed"),
         bool(pol & (1 << 16)))


# ------------------------------------------------------------------ synthetic suite

def synthetic_suite(t, build, tmp):
    t0 = int(time.time()) // 60 * 60 - 86400
    ev = os.path.join(tmp, "snp-evidence")
    data_dir = os.path.join(tmp, "snp-data")
    os.makedirs(data_dir, exist_ok=True)
    exp = gen_snp_evidence(build, ev, t0)
    config = os.path.join(tmp, "snp.conf")
    with open(config, "w") as f:
        f.write("# SevSnpVm integration test\namd_ark = %s\n" % os.path.join(ev, "ark.pem"))
    fixed = t0 + 86400
    d = harness.Daemon(build, data_dir, config, fixed)
    port = d.start()
    try:
        c = harness.Client(port, d.ca)
        t.check("startup warns that amd_ark replaces the pinned ARKs",
                "amd_ark" in d.log() and "REPLACES" in d.log(), d.log()[-600:])
        _synthetic_checks(t, c, tmp, ev, exp, fixed)
    finally:
        rc = d.stop()
        t.eq("snp daemon: SIGTERM exit status 0", rc, 0)
        if t.failed and t.verbose:
            print(d.log()[-4000:])


def _synthetic_checks(t, c, tmp, ev, exp, fixed):
    tc = TokenChecker(t, tmp)
    jwks = c.get("/certs").json
    chain = read(os.path.join(ev, "chain.pem"))
    vlek_chain = read(os.path.join(ev, "vlek_chain.pem"))
    report = read(os.path.join(ev, "report.bin"))
    rt_bin = read(os.path.join(ev, "runtime.bin"))
    rt_json = read(os.path.join(ev, "runtime.json"))
    it_bin = read(os.path.join(ev, "inittime.bin"))
    t.eq("report_data = SHA-256(runtime.bin) || 0^32", exp["reportdata"],
         hashlib.sha256(rt_bin).hexdigest() + "00" * 32)

    # 1. The full request: Binary runtime + init-time data, a nonce.
    body = {"report": envelope(report, chain), "runtimeData": data(rt_bin),
            "initTimeData": data(it_bin), "nonce": "snp-nonce-1"}
    r = c.post(PATH, body)
    tok = token_of(t, "SevSnpVm", r)
    b = tc.verify("SevSnpVm", tok, jwks) if tok else None
    if b:
        check_common(t, "SevSnpVm", b, c.base, fixed)
        check_snp_claims(t, "SevSnpVm", b, exp)
        t.eq("SevSnpVm: x-ms-policy-hash is MAA's default SevSnpVm policy hash",
             b.get("x-ms-policy-hash"), DEFAULT_POLICY_HASH)
        t.eq("SevSnpVm: nonce", b.get("nonce"), "snp-nonce-1")
        t.check("SevSnpVm: no x-ms-runtime for Binary runtime data", "x-ms-runtime" not in b, b)
        t.check("SevSnpVm: no x-ms-policy (the default policy issues nothing)",
                "x-ms-policy" not in b, b.get("x-ms-policy"))
        t.check("SevSnpVm: no SGX claims", not any(k.startswith("x-ms-sgx") for k in b), b)

    # 2. JSON runtime data reappears as x-ms-runtime.
    body = {"report": envelope(read(os.path.join(ev, "report_json.bin")), chain),
            "runtimeData": data(rt_json, True)}
    tok = token_of(t, "SevSnpVm JSON runtime", c.post(PATH, body))
    b = tc.verify("SevSnpVm JSON runtime", tok, jwks) if tok else None
    if b:
        t.eq("SevSnpVm JSON runtime: x-ms-runtime", b.get("x-ms-runtime"), json.loads(rt_json))

    # 3. Extra envelope members are tolerated; no runtime data means no binding.
    extra = {"Endorsements": b64url(json.dumps({"Uvm": [b64url(b"cose")]}).encode())}
    tok = token_of(t, "SevSnpVm + Endorsements", c.post(PATH, {"report": envelope(
        report, chain, extra)}))
    if tok:
        tc.verify("SevSnpVm + Endorsements", tok, jwks)

    # 4. A v5 report and a VLEK-signed report.
    tok = token_of(t, "SevSnpVm v5", c.post(PATH, {"report": envelope(
        read(os.path.join(ev, "report_v5.bin")), chain), "runtimeData": data(rt_bin)}))
    if tok:
        tc.verify("SevSnpVm v5", tok, jwks)
    tok = token_of(t, "SevSnpVm VLEK", c.post(PATH, {"report": envelope(
        read(os.path.join(ev, "report_vlek.bin")), vlek_chain), "runtimeData": data(rt_bin)}))
    b = tc.verify("SevSnpVm VLEK", tok, jwks) if tok else None
    if b:
        t.eq("SevSnpVm VLEK: measurement", b.get("x-ms-sevsnpvm-launchmeasurement"),
             exp["launchmeasurement"])

    # 5. Draft policy: an unsecured token with the issued claim.
    body = {"report": envelope(report, chain), "draftPolicyForAttestation": DRAFT_POLICY}
    tok = token_of(t, "SevSnpVm draft policy", c.post(PATH, body))
    if tok:
        h, b, sig, _, _ = split_jwt(tok)
        t.eq("SevSnpVm draft policy: alg none", h.get("alg"), "none")
        t.eq("SevSnpVm draft policy: empty signature", sig, b"")
        t.eq("SevSnpVm draft policy: issued claim",
             (b.get("x-ms-policy") or {}).get("snp-measurement"), exp["launchmeasurement"])
        t.eq("SevSnpVm draft policy: x-ms-policy-hash", b.get("x-ms-policy-hash"),
             policy_hash(DRAFT_POLICY))

    # 6. Failures.
    r = c.post("/attest/SevSnpVm?" + API_2020, {"report": envelope(report, chain)})
    check_error(t, "SevSnpVm on 2020-10-01", r, 400, "UnsupportedApiVersion")
    r = c.post(PATH, {"report": envelope(read(os.path.join(ev, "report_tampered.bin")), chain)})
    check_error(t, "tampered report", r, 400, "InvalidParameter", "report_signature")
    r = c.post(PATH, {"report": envelope(report, chain), "runtimeData": data(rt_json)})
    check_error(t, "runtime data mismatch", r, 400, "InvalidParameter", "runtimeData")
    r = c.post(PATH, {"report": envelope(report, chain), "runtimeData": data(rt_bin),
                      "initTimeData": data(rt_bin)})
    check_error(t, "init-time data mismatch", r, 400, "InvalidParameter", "initTimeData")
    r = c.post(PATH, {"report": envelope(report, vlek_chain)})
    check_error(t, "VCEK report with the VLEK chain", r, 400, "InvalidParameter")
    r = c.post(PATH, {"report": b64url(json.dumps({"SnpReport": b64url(report)}).encode())})
    check_error(t, "envelope without VcekCertChain", r, 400, "InvalidParameter",
                "VcekCertChain")
    r = c.post(PATH, {"report": b64url(report)})
    check_error(t, "raw report instead of the JSON envelope", r, 400, "InvalidParameter")
    r = c.post(PATH, {"report": envelope(report[:-1], chain)})
    check_error(t, "truncated report", r, 400, "InvalidParameter")
    r = c.post(PATH, {"report": envelope(report, chain.split(b"-----END CERTIFICATE-----")[0])})
    check_error(t, "VcekCertChain without a complete certificate", r, 400, "InvalidParameter")
    r = c.post(PATH, {"report": envelope(read(os.path.join(ev, "report_debug.bin")), chain),
                      "draftPolicyForAttestation": NO_DEBUG_POLICY})
    check_error(t, "debuggable guest under a no-debug policy", r, 400, "PolicyEvaluationError")
    r = c.post(PATH, {"report": envelope(report, chain),
                      "draftPolicyForAttestation": NO_DEBUG_POLICY})
    t.eq("non-debuggable guest under the same policy: HTTP 200", r.status, 200)


# ------------------------------------------------------------------ real vectors

def to_pem(der):
    b = harness.base64.b64encode(der).decode("ascii")
    lines = [b[i:i + 64] for i in range(0, len(b), 64)]
    return ("-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) +
            "\n-----END CERTIFICATE-----\n").encode("ascii")


def vector_chain(vdir):
    for kind in ("vcek", "vlek"):
        der = os.path.join(vdir, kind + ".der")
        if os.path.isfile(der):
            vek = to_pem(read(der))
            chain = read(os.path.join(vdir, "cert_chain.pem"))
            return vek + (b"" if vek.endswith(b"\n") else b"\n") + chain, kind
    return None, None


def vector_suite(t, build, tmp):
    vroot = os.path.join(harness.vectors_dir(), "snp")
    if not os.path.isdir(vroot):
        t.skip("real SEV-SNP vectors", "%s not found (set ATTESTD_VECTORS)" % vroot)
        return
    tc = TokenChecker(t, tmp)
    passing = 0
    for name in sorted(os.listdir(vroot)):
        vdir = os.path.join(vroot, name)
        mpath = os.path.join(vdir, "meta.json")
        if not os.path.isfile(mpath) or not os.path.isfile(os.path.join(vdir, "report.bin")):
            continue
        with open(mpath) as f:
            meta = json.load(f)
        expected = meta.get("verification", {}).get("expected_result", "")
        at = meta.get("verification", {}).get("verify_at")
        chain, kind = vector_chain(vdir)
        if at is None or chain is None:
            t.skip("vector snp/%s" % name, "no verify_at or no VCEK/VLEK")
            continue
        data_dir = os.path.join(tmp, "snp-vec-" + name)
        os.makedirs(data_dir, exist_ok=True)
        d = harness.Daemon(build, data_dir, None, at)
        port = d.start()
        try:
            c = harness.Client(port, d.ca)
            jwks = c.get("/certs").json
            r = c.post(PATH, {"report": envelope(read(os.path.join(vdir, "report.bin")), chain)})
            vname = "vector snp/%s (%s)" % (name, kind)
            if not expected.startswith("PASS"):
                check_error(t, vname + " (expected %s)" % expected.split(":")[0], r, 400,
                            "InvalidParameter")
                continue
            tok = token_of(t, vname, r)
            b = tc.verify(vname, tok, jwks) if tok else None
            if not b:
                continue
            passing += 1
            check_common(t, vname, b, c.base, harness.parse_rfc3339(at))
            t.eq(vname + ": x-ms-attestation-type", b.get("x-ms-attestation-type"), "sevsnpvm")
            maa = meta.get("claims", {}).get("maa_style", {})
            t.check(vname + ": meta.json has maa_style claims", len(maa) > 0, meta.get("claims"))
            for k, v in sorted(maa.items()):
                if k not in b and k not in DOCUMENTED:
                    t.info("%s: %s not emitted (not in the MAA-documented set, claim-sets.md "
                           "§5.2)" % (vname, k))
                    continue
                t.eq("%s: %s" % (vname, k), b.get(k), v)
            for k in sorted(DOCUMENTED):
                t.check("%s: %s present" % (vname, k), k in b, sorted(b))
        finally:
            t.eq("vector snp/%s daemon: SIGTERM exit status 0" % name, d.stop(), 0)
    t.check("at least one real SEV-SNP vector attests via /attest/SevSnpVm", passing > 0,
            "none passed")


def main():
    ap = harness.arg_parser()
    ap.add_argument("--verbose", action="store_true", help="print attestd's log on failure")
    ap.add_argument("--no-vectors", action="store_true")
    a = ap.parse_args()
    build = os.path.abspath(a.build_dir)
    if harness.find_tool("openssl") is None:  # required here: a failure, not a skip
        print("openssl command line not found")
        print("0 passed, 1 failed")
        return 1
    t = harness.Results(list_failures=True,
                        verbose=a.verbose or bool(os.environ.get("ATTESTD_TEST_VERBOSE")))
    start = time.time()
    with harness.workdir("snp", a.keep) as tmp:
        try:
            synthetic_suite(t, build, tmp)
        except Exception as ex:  # noqa: BLE001 - setup failures count as a failure
            t.check("synthetic SevSnpVm suite ran to completion", False,
                    "%s: %s" % (type(ex).__name__, ex))
        if a.no_vectors:
            t.skip("real SEV-SNP vectors", "--no-vectors")
        else:
            try:
                vector_suite(t, build, tmp)
            except Exception as ex:  # noqa: BLE001
                t.check("SEV-SNP vector suite ran to completion", False,
                        "%s: %s" % (type(ex).__name__, ex))
    return t.summary(started=start)


if __name__ == "__main__":
    sys.exit(main())
