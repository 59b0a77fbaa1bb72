#!/usr/bin/env python3
"""No log holds a bearer token, a private key or evidence bytes (issue 6).

    python3 test_log_hygiene.py --build-dir BUILD [--keep]

1. Two daemons (log_level = debug; log_format = text, then json; audit_file set) serve
   flows that carry secrets: management calls with bearer tokens (valid, forged,
   Reader), policy set/reset, provider create (a new signing key), attestations with
   synthetic evidence (issued and refused), 401s and 403s. Their stderr (as the harness
   captured it and as BUILD/test-logs/ holds it) and the audit files are searched for:
   every bearer and issued token and its signature part; "PRIVATE KEY"; the TLS and the
   identity provider's private keys (PEM body lines, DER as hex, base64, base64url);
   the evidence (raw bytes, base64, base64url, hex, and a 48-byte slice of each form).
2. Every file in BUILD/test-logs/ (every daemon any integration test started through
   harness.Daemon in this build directory, before this test ran) is searched for
   "PRIVATE KEY", an "Authorization"/"Bearer <token>" value and any compact JWS with a
   signature (eyJ...eyJ...sig). It covers whatever ran before it; under ctest it runs
   last (CMakeLists.txt makes it DEPEND on every other test), so `make test` scans the
   logs of the whole suite.

Prints one line per check, then "N passed, M failed"; exits non-zero on any failure.
"""

import base64
import glob
import json
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import b64url, read  # noqa: E402
from idp import TestIdP, policy_jws  # noqa: E402

API = "api-version=2022-08-01"
POLICY = "version=1.0; authorizationrules{=> permit();}; issuancerules{};"
JWS_RE = re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")
BEARER_RE = re.compile(rb"Bearer\s+[A-Za-z0-9_.-]{20,}")


def encodings(data):
    """The forms a byte string could take in a log line."""
    forms = {
        "raw": data,
        "base64": base64.b64encode(data),
        "base64url": b64url(data).encode(),
        "hex": data.hex().encode(),
        "HEX": data.hex().upper().encode(),
    }
    mid = (len(data) // 2) // 3 * 3
    part = data[mid:mid + 48]
    forms.update({
        "raw slice": part,
        "base64 slice": base64.b64encode(part),
        "base64url slice": b64url(part).encode(),
        "hex slice": part.hex().encode(),
    })
    return forms


def key_forms(pem_path):
    der = subprocess.run(["openssl", "pkey", "-in", pem_path, "-outform", "DER"],
                         capture_output=True, check=True).stdout
    forms = {"DER " + k: v for k, v in encodings(der).items() if k != "raw slice"}
    body = [ln for ln in read(pem_path).splitlines() if ln and not ln.startswith(b"-----")]
    for i, ln in enumerate(body[1:-1]):  # full 64-character lines
        forms["PEM line %d" % (i + 2)] = ln
    return forms


def call(c, method, path, token=None, body=None, ctype=None):
    hdrs = {}
    if token is not None:
        hdrs["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = body.encode() if isinstance(body, str) else body
        hdrs["Content-Type"] = ctype or "application/json"
    return c.request(method, path, body=data, headers=hdrs)


def flows(res, c, idp, q_sgx, q_bad, rt_bin, tag):
    owner = idp.token(["Attestation.Owner"], sub="hyg-owner")
    reader = idp.token(["Attestation.Reader"], sub="hyg-reader")
    forged = idp.token(["Attestation.Owner"], sub="hyg-owner", key=idp.rogue_key)
    tokens = [owner, reader, forged]
    pj = policy_jws(POLICY)
    statuses = []
    for method, path, tok, body, ctype in (
            ("GET", "/policies/SgxEnclave?" + API, owner, None, None),
            ("PUT", "/policies/SgxEnclave?" + API, owner, pj, "text/plain"),
            ("PUT", "/policies/SgxEnclave?" + API, reader, pj, "text/plain"),
            ("GET", "/admin/providers", forged, None, None),
            ("GET", "/admin/providers", None, None, None),
            ("PUT", "/admin/providers/hyg" + tag, owner, json.dumps({"mode": "aad"}), None),
            ("POST", "/policies/SgxEnclave:reset?" + API, owner, "", "text/plain")):
        r = call(c, method, path, tok, body, ctype)
        statuses.append(r.status)
        if r.json and isinstance(r.json.get("token"), str):
            tokens.append(r.json["token"])
    for q in (q_sgx, q_bad):
        r = call(c, "POST", "/attest/SgxEnclave?" + API,
                 body=json.dumps({"quote": b64url(q), "runtimeData": rt_bin}))
        statuses.append(r.status)
        if r.json and isinstance(r.json.get("token"), str):
            tokens.append(r.json["token"])
    res.check("%s: flows answered as expected" % tag,
              statuses == [200, 200, 403, 401, 401, 201, 200, 200, 400], str(statuses))
    return tokens


def scan(res, label, blobs, secrets):
    """blobs: {name: bytes}; secrets: {what: bytes}. One check per blob."""
    for name, data in blobs.items():
        hits = [what for what, s in secrets.items() if s and s in data]
        if b"PRIVATE KEY" in data:
            hits.append("PRIVATE KEY")
        res.check("%s: %s holds no secret (%d forms searched)" % (label, name, len(secrets)),
                  not hits, ", ".join(hits[:8]))


def run(res, build, tmp):
    try:
        env = harness.setup_synthetic(build, tmp)
        ev = env["evidence"]
        q_sgx = read(os.path.join(ev, "sgx_v3.bin"))
        q_bad = read(os.path.join(ev, "sgx_tampered.bin"))
        rt_bin = {"data": b64url(read(os.path.join(ev, "runtime.bin"))), "dataType": "Binary"}
        idp = TestIdP(tmp)
        blobs = {}
        tokens = []
        for tag, fmt in (("text", "text"), ("json", "json")):
            conf = os.path.join(tmp, "attestd-%s.conf" % tag)
            audit = os.path.join(tmp, "audit-%s.log" % tag)
            shutil.copyfile(env["config"], conf)
            harness.write_conf(conf, ["audit_file = %s" % audit, "log_level = debug",
                                      "log_format = %s" % fmt], idp, append=True)
            d = harness.Daemon(build, env["data_dir"], conf, env["fixed_time"])
            try:
                c = harness.Client(d.start(), d.ca)
                tokens += flows(res, c, idp, q_sgx, q_bad, rt_bin, tag)
            finally:
                res.check("%s: SIGTERM exit 0" % tag, d.stop() == 0, "")
            blobs["%s daemon stderr" % tag] = d.log().encode()
            if d.log_path and os.path.exists(d.log_path):
                blobs["%s test-logs file" % tag] = read(d.log_path)
            blobs["%s audit file" % tag] = read(audit)
            if fmt == "json":
                lines = [ln for ln in d.log().splitlines() if ln.startswith("{")]
                res.check("json: operational lines are JSON with level and msg",
                          lines and all({"time", "level", "msg"} <= set(json.loads(ln))
                                        for ln in lines), lines[:2])
                res.check("json: request lines carry request_id",
                          any("request_id" in json.loads(ln) and
                              json.loads(ln)["msg"].startswith("request ") for ln in lines), "")
            else:
                res.check("text: request lines carry req=<id>",
                          re.search(r"attestd: info: req=[0-9a-f-]{36} request method=",
                                    d.log()) is not None, "")
        res.check("test-logs files were written", any("test-logs" in k for k in blobs), "")

        secrets = {}
        for i, t in enumerate(tokens):
            secrets["token %d" % i] = t.encode()
            sig = t.split(".")[-1]
            if len(sig) >= 16:
                secrets["token %d signature" % i] = sig.encode()
        for what, v in encodings(q_sgx).items():
            secrets["evidence " + what] = v
        for what, v in encodings(q_bad).items():
            secrets["tampered evidence " + what] = v
        tls_key = os.path.join(env["data_dir"], "tls", "key.pem")
        for what, v in key_forms(tls_key).items():
            secrets["TLS key " + what] = v
        for what, v in key_forms(idp.key).items():
            secrets["IdP key " + what] = v
        # The search itself finds what it looks for (a planted copy of each kind).
        for what in ("token 0 signature", "evidence base64url slice", "evidence hex",
                     "TLS key DER base64", "IdP key PEM line 2"):
            planted = b"attestd: info: x=" + secrets[what] + b"\n"
            res.check("the scan detects a planted %s" % what,
                      any(s in planted for s in secrets.values()), "")
        scan(res, "this test", blobs, secrets)

        # Everything earlier tests made a daemon log in this build directory.
        files = sorted(glob.glob(os.path.join(build, "test-logs", "*.log")))
        bad = []
        for p in files:
            data = read(p)
            for what, rx in (("PRIVATE KEY", re.compile(rb"PRIVATE KEY")),
                             ("bearer value", BEARER_RE), ("signed JWS", JWS_RE)):
                m = rx.search(data)
                if m:
                    bad.append("%s: %s (%r)" % (os.path.basename(p), what, m.group(0)[:40]))
        print("scanned %d daemon log file(s) in %s" % (len(files), os.path.join(build, "test-logs")))
        res.check("BUILD/test-logs: no private key, bearer value or signed JWS in %d file(s)"
                  % len(files), files and not bad, "; ".join(bad[:5]))
    except Exception as ex:
        res.crashed(ex)


def main():
    args = harness.arg_parser().parse_args()
    res = harness.Results()
    with harness.workdir("hygiene", args.keep) as tmp:
        run(res, os.path.abspath(args.build_dir), tmp)
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
