#!/usr/bin/env python3
"""The chained audit log through the real daemon (docs/audit-log.md).

    python3 test_audit.py --build-dir BUILD [--keep]

A daemon with audit_file, an OIDC identity provider (idp.py) and synthetic evidence
(harness.setup_synthetic) serves management actions (policy get/set/reset, provider
create), 401s, 403s and attestations (one issued, one refused). Then:

1. The records are present with their exact fields: principal, provider, operation,
   target, result, policy_hash_before/after equal to the x-ms-policy-token-hash of the
   policies involved, request id equal to the x-ms-request-id header, source 127.0.0.1;
   attestation records carry type, result, policy hash (= x-ms-policy-hash), SHA-256 of
   the evidence bytes and the token's jti; no record holds a token or the evidence.
2. `attestctl audit verify FILE` passes (exact output), and with --data-dir.
3. Copies with one byte changed, one line deleted, two lines swapped, the last line
   removed (with --data-dir) fail with exit 1 and the exact line.
4. SIGHUP after moving the file away: the new file starts with audit.continue whose prev
   is the SHA-256 of the old file's last line; old + new verify as one chain.
5. A restart continues the chain in the same file.

Prints one line per check, then "N passed, M failed"; exits non-zero on any failure.
"""

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import b64url, claims_of, read, token_hash  # noqa: E402
from idp import TENANT, TestIdP, policy_jws  # noqa: E402

API = "api-version=2022-08-01"
POLICY_A = "version=1.0; authorizationrules{=> permit();}; issuancerules{};"
POLICY_B = ("version=1.0; authorizationrules{=> permit();}; "
            "issuancerules{=> issue(type=\"audit-test\", value=true);};")


def records(path):
    with open(path, "rb") as f:
        return [json.loads(line) for line in f.read().splitlines()]


def wait_for(path, pred, timeout=10):
    """Records are written by the audit writer thread: wait until pred(records) holds."""
    end = time.time() + timeout
    recs = []
    while time.time() < end:
        if os.path.exists(path):
            try:
                recs = records(path)
            except ValueError:
                recs = []
            if pred(recs):
                return recs
        time.sleep(0.05)
    return recs


def find(recs, **want):
    return [r for r in recs if all(r.get(k) == v for k, v in want.items())]


def verify(build, path, data_dir=None):
    exe = harness.binary(build, "attestctl")
    cmd = [exe, "audit", "verify", path] + (["--data-dir", data_dir] if data_dir else [])
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def line_hash(line):
    return hashlib.sha256(line).hexdigest()


def call(c, method, path, token=None, body=None, ctype=None):
    hdrs = {}
    if token is not None:
        hdrs["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = body.encode() if isinstance(body, str) else body
        hdrs["Content-Type"] = ctype or "application/json"
    return c.request(method, path, body=data, headers=hdrs)


def run_flows(res, c, idp, q_sgx, q_bad, rt_bin):
    """Drive every kind of record; returns what the records must say."""
    owner = idp.token(["Attestation.Owner"], sub="audit-owner")
    reader = idp.token(["Attestation.Reader"], sub="audit-reader")
    want = {"owner": "%s/oid-audit-owner" % TENANT, "reader": "%s/oid-audit-reader" % TENANT}
    tokens = [owner, reader]

    r = call(c, "GET", "/policies/SgxEnclave?" + API, owner)
    res.check("policy get 200", r.status == 200, repr(r))
    default_hash = token_hash(claims_of(r.json["token"])["x-ms-policy"])
    want["default_hash"] = default_hash

    ja, jb = policy_jws(POLICY_A), policy_jws(POLICY_B)
    r = call(c, "PUT", "/policies/SgxEnclave?" + API, owner, ja, "text/plain")
    res.check("policy set A 200", r.status == 200, repr(r))
    ha = claims_of(r.json["token"]).get("x-ms-policy-token-hash")
    want["set_a"] = (r.headers.get("x-ms-request-id"), ha)
    r = call(c, "PUT", "/policies/SgxEnclave?" + API, owner, jb, "text/plain")
    res.check("policy set B 200", r.status == 200, repr(r))
    hb = claims_of(r.json["token"]).get("x-ms-policy-token-hash")
    want["set_b"] = (r.headers.get("x-ms-request-id"), hb)
    res.check("x-ms-policy-token-hash values are the JWS hashes",
              ha == token_hash(ja) and hb == token_hash(jb), "%s %s" % (ha, hb))

    # Attestations under policy B: one issued, one refused (tampered quote).
    body = {"quote": b64url(q_sgx), "runtimeData": rt_bin}
    r = call(c, "POST", "/attest/SgxEnclave?" + API, body=json.dumps(body))
    res.check("attest 200", r.status == 200, repr(r))
    tok = r.json["token"]
    tokens.append(tok)
    cl = claims_of(tok)
    want["attest_ok"] = (r.headers.get("x-ms-request-id"), cl.get("jti"),
                         cl.get("x-ms-policy-hash"), hashlib.sha256(q_sgx).hexdigest())
    r = call(c, "POST", "/attest/SgxEnclave?" + API,
             body=json.dumps({"quote": b64url(q_bad), "runtimeData": rt_bin}))
    res.check("attest tampered 400", r.status == 400, repr(r))
    want["attest_bad"] = (r.headers.get("x-ms-request-id"), hashlib.sha256(q_bad).hexdigest())

    r = call(c, "POST", "/policies/SgxEnclave:reset?" + API, owner, "", "text/plain")
    res.check("policy reset 200", r.status == 200, repr(r))
    want["reset"] = r.headers.get("x-ms-request-id")

    r = call(c, "PUT", "/admin/providers/audp", owner, json.dumps({"mode": "aad"}))
    res.check("provider create 201", r.status == 201, repr(r))
    want["create"] = r.headers.get("x-ms-request-id")

    r = call(c, "GET", "/admin/providers")
    res.check("no token: 401", r.status == 401, repr(r))
    want["401"] = r.headers.get("x-ms-request-id")
    bad = idp.token(["Attestation.Owner"], sub="audit-owner", key=idp.rogue_key)
    tokens.append(bad)
    r = call(c, "GET", "/admin/providers", bad)
    res.check("bad signature: 401", r.status == 401, repr(r))
    want["401sig"] = r.headers.get("x-ms-request-id")
    r = call(c, "PUT", "/policies/SgxEnclave?" + API, reader, ja, "text/plain")
    res.check("reader set: 403", r.status == 403, repr(r))
    want["403"] = r.headers.get("x-ms-request-id")
    want["tokens"] = tokens
    return want


def check_records(res, recs, want):
    one = lambda **k: (find(recs, **k) or [None])[0]  # noqa: E731
    rid, ha = want["set_a"]
    a = one(request_id=rid)
    res.check("policy.set A record: exact fields",
              a is not None and a.get("kind") == "management" and
              a.get("operation") == "policy.set" and a.get("principal") == want["owner"] and
              a.get("provider") == "default" and a.get("target") == "SgxEnclave" and
              a.get("result") == "Updated" and a.get("source") == "127.0.0.1" and
              a.get("policy_hash_before") == want["default_hash"] and
              a.get("policy_hash_after") == ha, json.dumps(a))
    rid, hb = want["set_b"]
    b = one(request_id=rid)
    res.check("policy.set B record: before = A's x-ms-policy-token-hash, after = B's",
              b is not None and b.get("policy_hash_before") == ha and
              b.get("policy_hash_after") == hb, json.dumps(b))
    r = one(request_id=want["reset"])
    res.check("policy.reset record: before = B, after = the default policy's hash",
              r is not None and r.get("operation") == "policy.reset" and
              r.get("result") == "Removed" and r.get("policy_hash_before") == hb and
              r.get("policy_hash_after") == want["default_hash"], json.dumps(r))
    rid, jti, phash, evh = want["attest_ok"]
    t = one(request_id=rid)
    res.check("attestation record: type, result, policy hash, evidence SHA-256, jti",
              t is not None and t.get("kind") == "attestation" and
              t.get("provider") == "default" and t.get("attestation_type") == "SgxEnclave" and
              t.get("result") == "ok" and t.get("policy_hash") == phash and
              t.get("evidence_sha256") == evh and t.get("jti") == jti and jti and
              t.get("source") == "127.0.0.1", json.dumps(t))
    rid, evh = want["attest_bad"]
    t = one(request_id=rid)
    res.check("refused attestation record: error code, evidence hash, no jti",
              t is not None and t.get("result") == "InvalidParameter" and
              t.get("evidence_sha256") == evh and "jti" not in t, json.dumps(t))
    p = one(request_id=want["create"])
    res.check("providers.create record",
              p is not None and p.get("operation") == "providers.create" and
              p.get("provider") == "audp" and p.get("result") == "ok" and
              p.get("principal") == want["owner"], json.dumps(p))
    u = one(request_id=want["401"])
    res.check("401 record (missing token)",
              u is not None and u.get("kind") == "unauthenticated" and
              u.get("operation") == "providers.list" and u.get("result") == "missing_token" and
              u.get("source") == "127.0.0.1" and "principal" not in u, json.dumps(u))
    u = one(request_id=want["401sig"])
    res.check("401 record (bad signature)",
              u is not None and u.get("kind") == "unauthenticated" and
              u.get("result") not in (None, "ok"), json.dumps(u))
    f = one(request_id=want["403"])
    res.check("403 record",
              f is not None and f.get("kind") == "forbidden" and
              f.get("principal") == want["reader"] and f.get("operation") == "policy.set" and
              f.get("provider") == "default" and f.get("result") == "Forbidden", json.dumps(f))
    seqs = [x.get("seq") for x in recs]
    res.check("seq is 1..N", seqs == list(range(1, len(recs) + 1)), str(seqs[:20]))
    res.check("first record: system start", recs[0].get("kind") == "system" and
              recs[0].get("operation") == "start", json.dumps(recs[0]))


def check_tampering(res, build, tmp, path, data_dir):
    with open(path, "rb") as f:
        lines = f.read().splitlines()
    n = len(lines)
    rc, out, err = verify(build, path)
    want = "audit ok: %d records, seq 1..%d, head %s" % (n, n, line_hash(lines[-1]))
    res.check("attestctl audit verify FILE: exit 0, exact output", rc == 0 and out == want,
              "rc=%d out=%r err=%r" % (rc, out, err))
    rc, out, err = verify(build, path, data_dir)
    res.check("attestctl audit verify FILE --data-dir: exit 0", rc == 0 and out == want,
              "rc=%d out=%r err=%r" % (rc, out, err))

    def variant(name, new_lines, expect_line, data=None, reason=None):
        p = os.path.join(tmp, "tampered.log")
        with open(p, "wb") as f:
            f.write(b"".join(x + b"\n" for x in new_lines))
        rc, out, err = verify(build, p, data)
        m = re.match(r"^audit verify: line (\d+): (.+)$", out)
        ok = rc == 1 and m is not None and int(m.group(1)) == expect_line
        if ok and reason is not None:
            ok = m.group(2) == reason
        res.check("%s: exit 1 at line %d" % (name, expect_line), ok,
                  "rc=%d out=%r err=%r" % (rc, out, err))

    k = 3  # 0-based line to tamper with (a request record)
    changed = list(lines)
    b = bytearray(changed[k])
    pos = b.index(b'"time":"') + len('"time":"') + 3  # a digit of the year
    b[pos] = ord("7") if b[pos] != ord("7") else ord("8")
    changed[k] = bytes(b)
    variant("one byte changed", changed, k + 2,
            reason="prev does not match the SHA-256 of line %d" % (k + 1))
    variant("one line deleted", lines[:k] + lines[k + 1:], k + 1,
            reason="seq %d, expected %d" % (k + 2, k + 1))
    swapped = list(lines)
    swapped[k], swapped[k + 1] = swapped[k + 1], swapped[k]
    variant("two lines swapped", swapped, k + 1, reason="seq %d, expected %d" % (k + 2, k + 1))
    variant("first line deleted", lines[1:], 1)
    variant("last line removed (against the stored head)", lines[:-1], n - 1, data=data_dir,
            reason="the file ends at seq %d but the stored chain head is seq %d (records "
                   "removed from the end)" % (n - 1, n))
    forged = json.dumps({"seq": n + 1, "prev": "0" * 64, "time": "2026-01-01T00:00:00Z",
                         "kind": "system"}, separators=(",", ":")).encode()
    variant("record appended by hand", lines + [forged], n + 1,
            reason="prev does not match the SHA-256 of line %d" % n)


def run(res, build, tmp):
    d = None
    try:
        env = harness.setup_synthetic(build, tmp)
        ev = env["evidence"]
        q_sgx = read(os.path.join(ev, "sgx_v3.bin"))
        q_bad = read(os.path.join(ev, "sgx_tampered.bin"))
        rt_bin = {"data": b64url(read(os.path.join(ev, "runtime.bin"))), "dataType": "Binary"}
        idp = TestIdP(tmp)
        audit = os.path.join(tmp, "audit.log")
        harness.write_conf(env["config"], ["audit_file = %s" % audit, "audit_fsync = always"],
                           idp, append=True)
        d = harness.Daemon(build, env["data_dir"], env["config"], env["fixed_time"])
        c = harness.Client(d.start(), d.ca)
        want = run_flows(res, c, idp, q_sgx, q_bad, rt_bin)
        rc = d.stop()
        res.check("SIGTERM: exit 0", rc == 0, str(rc))
        res.check("audit file mode 0600", (os.stat(audit).st_mode & 0o777) == 0o600,
                  oct(os.stat(audit).st_mode))
        recs = records(audit)
        res.check("last record: system stop", recs[-1].get("operation") == "stop",
                  json.dumps(recs[-1]))
        check_records(res, recs, want)
        raw = read(audit)
        leaked = [t for t in want["tokens"] if t.encode() in raw or
                  t.split(".")[-1].encode() in raw]
        res.check("no bearer or issued token in the audit file", not leaked,
                  "%d leaked" % len(leaked))
        res.check("no evidence bytes in the audit file",
                  b64url(q_sgx).encode() not in raw and q_sgx.hex().encode() not in raw, "")
        res.check("no audit JSON lines on stderr when audit_file is set",
                  not any(x.startswith('{"audit"') for x in d.log().splitlines()), "")
        check_tampering(res, build, tmp, audit, env["data_dir"])

        # Rotation: move the file away, SIGHUP, and the new file continues the chain.
        d.restart()
        c = harness.Client(d.port, d.ca)
        n_before = len(wait_for(audit, lambda r: r and r[-1].get("operation") == "start"))
        rotated = audit + ".1"
        os.rename(audit, rotated)
        d.proc.send_signal(signal.SIGHUP)
        new = wait_for(audit, lambda r: len(r) >= 1)
        r = call(c, "GET", "/admin/providers")
        res.check("401 after rotation", r.status == 401, repr(r))
        rid = r.headers.get("x-ms-request-id")
        new = wait_for(audit, lambda r: any(x.get("request_id") == rid for x in r))
        with open(rotated, "rb") as f:
            old_last = f.read().splitlines()[-1]
        res.check("SIGHUP: the new file starts with audit.continue chained to the old file",
                  len(new) >= 2 and new[0].get("operation") == "audit.continue" and
                  new[0].get("seq") == n_before + 1 and new[0].get("prev") == line_hash(old_last),
                  json.dumps(new[:1]))
        res.check("the request after rotation is in the new file",
                  any(x.get("request_id") == rid for x in new), "")
        rc, out, err = verify(build, audit, env["data_dir"])
        res.check("the rotated-to file verifies on its own (--data-dir)", rc == 0,
                  "%d %s %s" % (rc, out, err))
        res.check("SIGTERM after rotation: exit 0", d.stop() == 0, "")

        # Restart: the chain continues in the same file.
        n_new = len(records(audit))
        d.restart()
        recs2 = wait_for(audit, lambda r: len(r) > n_new and r[-1].get("operation") == "start")
        res.check("restart continues seq in the same file",
                  len(recs2) == n_new + 1 and recs2[n_new].get("seq") == recs2[n_new - 1]["seq"] + 1,
                  json.dumps(recs2[-2:]))
        res.check("SIGTERM after restart: exit 0", d.stop() == 0, "")
        d = None
        both = os.path.join(tmp, "both.log")
        with open(both, "wb") as f:
            f.write(read(rotated) + read(audit))
        rc, out, err = verify(build, both, env["data_dir"])
        total = len(records(both))
        res.check("old + new files verify as one chain against the stored head",
                  rc == 0 and out.startswith("audit ok: %d records, seq 1..%d, head " %
                                             (total, total)), "%d %s %s" % (rc, out, err))
    except Exception as ex:
        res.crashed(ex)
    finally:
        if d is not None:
            d.stop()
            if res.failed:
                print("---- attestd stderr ----\n%s" % d.log()[-6000:])


def main():
    args = harness.arg_parser().parse_args()
    res = harness.Results()
    with harness.workdir("audit", args.keep) as tmp:
        run(res, os.path.abspath(args.build_dir), tmp)
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
