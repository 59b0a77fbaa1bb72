#!/usr/bin/env python3
"""The recovery drill of docs/recovery-runbook.md, step by step, against the real daemon.

    python3 test_recovery_drill.py --build-dir BUILD [--keep]

1. Set up: providers `tenant-a` (AAD) and `iso` (isolated, signer A) with attestctl, role
   assignments, attestd with oidc_config and scheduled backups (backup_interval_s = 1);
   policies over the management API: unsigned JWS, signed (AAD, signer B), signed
   (isolated, signer A) and bare text.
2. Use it: attest with synthetic evidence on three providers and keep the tokens, the
   /certs documents and the policy hashes.
3. Back up: `attestctl backup create` while attestd runs, and wait for a scheduled backup
   (file, audit record, pruning to backup_keep).
4. Verify both backups; no plaintext policy text, principal or provider name in the file.
5. Lose everything: SIGTERM attestd, delete the data directory.
6. Dry run into the empty directory: every provider, policy (by x-ms-policy-hash), signer
   and role listed with "+".
7. Restore; 8. re-import collateral; 9. start: the same /certs (byte-equal keys), tokens
   issued before the backup verify with the restored keys (openssl), new attestations give
   the same x-ms-policy-hash, GET policy returns the same JWS, roles are back, and the
   scheduled backup has no difference from the restored store.
10. policy export: re-uploading each exported .jws / .txt through PUT /policies/{type}
   gives the x-ms-policy-token-hash of the original upload; `policy export --url` from the
   running daemon writes the signed JWS as uploaded.

Prints one line per check, then "N passed, M failed"; exits non-zero on any failure.
"""

import base64
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import b64url_decode, claims_of, token_hash  # noqa: E402
from idp import TENANT, TestIdP, b64url, make_signer, openssl, policy_jws  # noqa: E402

API = "api-version=2020-10-01"
MARKER = "drill-marker-5c2f"
POL_UNSIGNED = "version=1.0; authorizationrules{=> permit();}; issuancerules{}; // " + MARKER
POL_SIGNED_AAD = "version=1.0; authorizationrules{=> permit();}; issuancerules{}; // aad-b"
POL_ISO = "version=1.0; authorizationrules{=> permit();}; issuancerules{}; // iso-a"
POL_TEXT = "version=1.0; authorizationrules{=> permit();}; issuancerules{}; // bare text"
OWNER_PRINCIPAL = TENANT + "/oid-drill-owner"
READER_PRINCIPAL = TENANT + "/oid-drill-reader"


def rs256_verifies(token, jwks, workdir):
    """The token's RS256 signature against the x5c of its kid in jwks (openssl CLI)."""
    parts = token.split(".")
    hdr = json.loads(b64url_decode(parts[0]))
    keys = {k["kid"]: k["x5c"][0] for k in jwks.get("keys", [])}
    if hdr.get("alg") != "RS256" or hdr.get("kid") not in keys:
        return False
    d = tempfile.mkdtemp(dir=workdir, prefix="verify-")
    try:
        pem = os.path.join(d, "cert.pem")
        with open(pem, "wb") as f:
            f.write(openssl("x509", "-inform", "DER", data=base64.b64decode(keys[hdr["kid"]])))
        pub = os.path.join(d, "pub.pem")
        with open(pub, "wb") as f:
            f.write(openssl("x509", "-in", pem, "-pubkey", "-noout"))
        sig = os.path.join(d, "sig")
        with open(sig, "wb") as f:
            f.write(b64url_decode(parts[2]))
        v = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", sig],
                           input=(parts[0] + "." + parts[1]).encode(), capture_output=True)
        return v.returncode == 0 and b"Verified OK" in v.stdout
    finally:
        shutil.rmtree(d, ignore_errors=True)


class Api:
    def __init__(self, client, owner_token):
        self.c = client
        self.tok = owner_token

    def put_policy(self, prefix, typ, body):
        return self.c.request("PUT", "%s/policies/%s?%s" % (prefix, typ, API),
                              body=body.encode(), headers={"Content-Type": "text/plain",
                                                           "Authorization": "Bearer " + self.tok})

    def get_policy(self, prefix, typ):
        r = self.c.request("GET", "%s/policies/%s?%s" % (prefix, typ, API),
                           headers={"Authorization": "Bearer " + self.tok})
        if r.status != 200:
            return None
        return claims_of(r.json["token"]).get("x-ms-policy")

    def attest(self, prefix, body):
        r = self.c.post("%s/attest/SgxEnclave?%s" % (prefix, API), body)
        return r.json.get("token") if r.status == 200 and isinstance(r.json, dict) else None

    def certs(self, prefix):
        return self.c.get(prefix + "/certs").json


def backups_in(d):
    return sorted(glob.glob(os.path.join(d, "backup-*.atb")))


def ctl(build, data, *args):
    return harness.attestctl(build, data, *args, check=False)


def drill(res, build, work):
    # ---- 1. set up
    env = harness.setup_synthetic(build, work, providers=("tenant-a",))
    data, ev, conf = env["data_dir"], env["evidence"], env["config"]
    idp = TestIdP(work)
    a = make_signer(work, "A")
    b = make_signer(work, "B")
    key = os.path.join(work, "backup.key")
    with open(key, "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    os.chmod(key, 0o600)
    bdir = os.path.join(work, "backups")
    harness.write_conf(conf, ["backup_dir = %s" % bdir, "backup_interval_s = 1", "backup_keep = 2",
                              "backup_key_file = %s" % key], idp, append=True)
    harness.attestctl(build, data, "provider", "create", "iso", "--mode", "isolated",
                      "--signer-cert", a["cert"])
    harness.attestctl(build, data, "role", "assign", "--principal", OWNER_PRINCIPAL, "--role",
                      "Owner", "--scope", "tenant-a")
    harness.attestctl(build, data, "role", "assign", "--principal", READER_PRINCIPAL, "--role",
                      "Reader")
    roles_before = ctl(build, data, "role", "list").stdout

    q_sgx = harness.read(os.path.join(ev, "sgx_v3.bin"))
    rt = harness.read(os.path.join(ev, "runtime.bin"))
    body_sgx = {"quote": b64url(q_sgx), "runtimeData": {"data": b64url(rt), "dataType": "Binary"}}

    d = harness.Daemon(build, data, conf, env["fixed_time"])
    d.start()
    api = Api(harness.Client(d.port, d.ca), idp.token(["Attestation.Owner"], sub="drill"))
    uploads = [("", "SgxEnclave", policy_jws(POL_UNSIGNED), POL_UNSIGNED),
               ("/providers/tenant-a", "SgxEnclave", policy_jws(POL_SIGNED_AAD, b),
                POL_SIGNED_AAD),
               ("/providers/tenant-a", "OpenEnclave", POL_TEXT, POL_TEXT),
               ("/providers/iso", "SgxEnclave", policy_jws(POL_ISO, a), POL_ISO)]
    upload_hash = {}
    for prefix, typ, body, text in uploads:
        r = api.put_policy(prefix, typ, body)
        ok = r.status == 200
        h = claims_of(r.json["token"]).get("x-ms-policy-token-hash") if ok else None
        res.check("1. PUT %s/policies/%s -> 200, token hash of the body" % (prefix, typ),
                  ok and h == token_hash(body), r)
        upload_hash[(prefix, typ)] = h

    nets = "127.0.0.0/8, 10.20.0.0/16"
    r = api.c.request("PATCH", "/admin/providers/tenant-a", body=json.dumps(
        {"allowed_networks": nets}).encode(), headers={"Content-Type": "application/json",
                                                       "Authorization": "Bearer " + api.tok})
    res.eq("1. PATCH tenant-a allowed_networks -> 200", r.status, 200)

    # ---- 2. use it
    prefixes = ["", "/providers/tenant-a", "/providers/iso"]
    tokens, certs_before, phash_before, jws_before = {}, {}, {}, {}
    for p in prefixes:
        tokens[p] = api.attest(p, body_sgx)
        res.check("2. attest %s/attest/SgxEnclave -> token" % p, tokens[p] is not None)
        certs_before[p] = api.certs(p)
        res.check("2. %s/certs verifies the token" % p,
                  tokens[p] is not None and rs256_verifies(tokens[p], certs_before[p], work))
        phash_before[p] = claims_of(tokens[p]).get("x-ms-policy-hash") if tokens[p] else None
        jws_before[p] = api.get_policy(p, "SgxEnclave")
    res.eq("2. tenant-a token carries the hash of its policy", phash_before["/providers/tenant-a"],
           harness.policy_hash(POL_SIGNED_AAD))

    # ---- 3. back up (online) + scheduled
    out = os.path.join(work, "drill.atb")
    r = ctl(build, data, "backup", "create", "--out", out, "--key-file", key, "--config", conf)
    res.check("3. backup create while attestd runs: exit 0", r.returncode == 0, r.stderr)
    res.check("3. backup create: counts", b"(3 providers, 4 policies, 1 signer certificates, "
              b"2 role assignments)" in r.stdout, r.stdout)
    deadline = time.time() + 20
    while time.time() < deadline and len(backups_in(bdir)) < 1:
        time.sleep(0.2)
    time.sleep(3.5)  # a few more intervals: pruning keeps backup_keep = 2
    sched = backups_in(bdir)
    res.check("3. scheduled backups written, pruned to backup_keep", 1 <= len(sched) <= 2, sched)
    log = d.log()
    res.check("3. scheduled backup audit record with result ok",
              '"audit":"backup"' in log and '"operation":"backup.scheduled"' in log and
              '"result":"ok"' in log, log[-1500:])

    # ---- 4. verify
    r = ctl(build, data, "backup", "verify", out, "--key-file", key)
    res.check("4. backup verify: exit 0, one summary line",
              r.returncode == 0 and r.stdout.startswith(b"backup ok: format 1") and
              r.stdout.count(b"\n") == 1, r.stdout + r.stderr)
    sched_copy = os.path.join(work, "scheduled.atb")
    if sched:
        shutil.copyfile(sched[-1], sched_copy)
        r = ctl(build, data, "backup", "verify", sched_copy, "--key-file", key)
        res.check("4. scheduled backup verifies", r.returncode == 0, r.stderr)
    raw = harness.read(out)
    for needle in (MARKER, OWNER_PRINCIPAL, "tenant-a", "aad-b", "BEGIN"):
        res.check("4. no plaintext %r in the backup file" % needle, needle.encode() not in raw)

    # ---- 5. lose everything
    res.eq("5. attestd stops on SIGTERM with status 0", d.stop(), 0)
    shutil.rmtree(data)

    # ---- 6. dry run
    r = ctl(build, data, "backup", "restore", out, "--key-file", key, "--dry-run")
    res.check("6. dry run: exit 0", r.returncode == 0, r.stderr)
    lines = r.stdout.decode().splitlines()
    want = ["+ provider default", "+ provider iso", "+ provider tenant-a",
            "+ policy default/SgxEnclave %s" % harness.policy_hash(POL_UNSIGNED),
            "+ policy tenant-a/OpenEnclave %s" % harness.policy_hash(POL_TEXT),
            "+ policy tenant-a/SgxEnclave %s" % harness.policy_hash(POL_SIGNED_AAD),
            "+ policy iso/SgxEnclave %s" % harness.policy_hash(POL_ISO),
            "+ signer iso %s" % hashlib.sha256(a["der"]).hexdigest(),
            "+ role %s Reader *" % READER_PRINCIPAL,
            "+ role %s Owner tenant-a" % OWNER_PRINCIPAL,
            "summary: 10 added, 0 removed, 0 changed"]
    for w in want:
        res.check("6. dry run lists %r" % w, w in lines, lines)
    res.eq("6. dry run: nothing else", len(lines), len(want))

    # ---- 7. restore, 8. collateral
    r = ctl(build, data, "backup", "restore", out, "--key-file", key)
    res.check("7. restore: exit 0", r.returncode == 0, r.stderr)
    res.eq("7. restore: summary", r.stdout.decode().strip(),
           "restored: 3 providers, 4 policies, 1 signer certificates, 2 role assignments")
    for c in ("collateral-sgx", "collateral-tdx"):
        r = ctl(build, data, "collateral", "import", os.path.join(ev, c))
        res.check("8. collateral import %s" % c, r.returncode == 0, r.stderr)

    # ---- 9. start and compare
    d2 = harness.Daemon(build, data, conf, env["fixed_time"])
    d2.start()
    try:
        api2 = Api(harness.Client(d2.port, d2.ca), api.tok)
        for p in prefixes:
            after = api2.certs(p)
            res.check("9. %s/certs: the same keys (kid, x5c)" % p,
                      [(k["kid"], k["x5c"]) for k in after["keys"]] ==
                      [(k["kid"], k["x5c"]) for k in certs_before[p]["keys"]], after)
            res.check("9. %s: the token issued before the backup verifies with the restored "
                      "/certs" % p, tokens[p] is not None and rs256_verifies(tokens[p], after, work))
            t2 = api2.attest(p, body_sgx)
            res.check("9. %s: attestation after the restore" % p, t2 is not None)
            res.eq("9. %s: the same x-ms-policy-hash" % p,
                   claims_of(t2).get("x-ms-policy-hash") if t2 else None, phash_before[p])
            res.eq("9. %s: GET policy returns the same JWS" % p,
                   api2.get_policy(p, "SgxEnclave"), jws_before[p])
        res.eq("9. role assignments are back", ctl(build, data, "role", "list").stdout,
               roles_before)
        r = api2.c.request("GET", "/admin/providers/tenant-a",
                           headers={"Authorization": "Bearer " + api2.tok})
        res.eq("9. tenant-a's allowed_networks are back",
               r.json.get("allowed_networks") if r.status == 200 else r.status, nets)
        if sched:
            r = ctl(build, data, "backup", "restore", sched_copy, "--key-file", key, "--dry-run")
            res.eq("9. the scheduled backup matches the restored store",
                   r.stdout.decode().strip(), "summary: 0 added, 0 removed, 0 changed")

        # ---- 10. policy export -> PUT -> same token hash
        for prov, prefix in (("default", ""), ("tenant-a", "/providers/tenant-a"),
                             ("iso", "/providers/iso")):
            outdir = os.path.join(work, "export-" + prov)
            r = ctl(build, data, "policy", "export", "--provider", prov, "--out", outdir)
            res.check("10. policy export %s: exit 0" % prov, r.returncode == 0, r.stderr)
            for prefix_u, typ, body, text in uploads:
                if prefix_u != prefix:
                    continue
                txt = harness.read(os.path.join(outdir, typ + ".txt"))
                res.eq("10. %s/%s.txt is the policy text" % (prov, typ), txt, text.encode())
                jpath = os.path.join(outdir, typ + ".jws")
                again = body if body == text else None
                if body != text:
                    res.check("10. %s/%s.jws exists" % (prov, typ), os.path.exists(jpath))
                    again = harness.read(jpath).decode() if os.path.exists(jpath) else ""
                else:
                    res.check("10. %s/%s: no .jws for a bare-text upload" % (prov, typ),
                              not os.path.exists(jpath))
                    again = txt.decode()
                rr = api2.put_policy(prefix, typ, again)
                h = claims_of(rr.json["token"]).get("x-ms-policy-token-hash") \
                    if rr.status == 200 else None
                res.eq("10. re-upload %s/%s: the original x-ms-policy-token-hash" % (prov, typ),
                       h, upload_hash[(prefix, typ)])

        # ---- 10b. policy export --url from the running (restored) attestd
        tokfile = os.path.join(work, "owner.token")
        with open(tokfile, "w") as f:
            f.write(api.tok)
        os.chmod(tokfile, 0o600)
        outdir = os.path.join(work, "export-remote")
        r = harness.run([harness.binary(build, "attestctl"), "--url", "https://localhost:%d" %
                         d2.port, "--token-file", tokfile, "--cacert", d2.ca, "policy",
                         "export", "--provider", "tenant-a", "--out", outdir], check=False)
        res.check("10b. policy export --url: exit 0", r.returncode == 0, r.stderr)
        signed = [u for u in uploads if u[0] == "/providers/tenant-a" and u[1] == "SgxEnclave"][0]
        jpath = os.path.join(outdir, "SgxEnclave.jws")
        res.eq("10b. remote SgxEnclave.jws is the signed JWS as uploaded",
               harness.read(jpath).decode() if os.path.exists(jpath) else None, signed[2])
        tpath = os.path.join(outdir, "OpenEnclave.txt")
        res.eq("10b. remote OpenEnclave.txt is the bare-text policy",
               harness.read(tpath) if os.path.exists(tpath) else None, POL_TEXT.encode())
        res.check("10b. no file for a type without a policy (Tpm)",
                  not os.path.exists(os.path.join(outdir, "Tpm.txt")))
    finally:
        res.eq("9. restored attestd stops with status 0", d2.stop(), 0)


def main():
    args = harness.arg_parser().parse_args()
    if harness.find_tool("openssl", skip=harness.OPENSSL_MISSING) is None:
        return 0
    res = harness.Results(detail_max=600)  # details here can be whole responses
    with harness.workdir("drill", args.keep) as work:
        drill(res, args.build_dir, work)  # an exception ends the test with its traceback
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
