#!/usr/bin/env python3
"""attestctl as a remote management client, end to end against the real daemon over TLS.

    python3 test_cli_remote.py --build-dir BUILD [--keep]

The test identity provider (idp.py) backs attestd's oidc_config; tokens are minted for an
Owner and a Reader. Covers `attestctl --url`: policy get/set/reset (unsigned on the AAD
default provider, signed on an isolated one), signer add/list/remove, provider
create/list/show/delete and role assign/list/remove (SKIPPED while the server answers 404
for /admin), `policy sign` (checked with openssl), local `role`, and the failure exits:
403 and 401 -> 1, unreachable URL, wrong CA and missing --provider -> 2. No token may
appear in attestctl's output.

Prints one line per check, then "N passed, M failed"; exits non-zero on any failure.
"""

import hashlib
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import b64url_decode  # noqa: E402
from idp import TestIdP, b64url, make_signer, openssl  # noqa: E402

POLICY = "version=1.0; authorizationrules{=> permit();}; issuancerules{};"
ODD_POLICY = "\nversion= 1.0;\r\nauthorizationrules\r\n{\t=> permit(); };\r\nissuancerules { };"


class Ctl:
    """Runs attestctl --url ... and remembers every output for the token-leak check."""

    def __init__(self, exe, url, ca, workdir):
        self.exe = exe
        self.url = url
        self.ca = ca
        self.workdir = workdir
        self.outputs = []
        self.n = 0

    def token_file(self, token):
        self.n += 1
        path = os.path.join(self.workdir, "tok%d" % self.n)
        with open(path, "w") as f:
            f.write(token + "\n")
        return path

    def run(self, *args, token=None, url=None, ca=None, env_token=False, stdin=None):
        cmd = [self.exe]
        env = dict(os.environ)
        for k in ("ATTESTD_URL", "ATTESTD_TOKEN", "ATTESTD_CACERT"):
            env.pop(k, None)
        cmd += ["--url", url or self.url, "--cacert", ca or self.ca]
        if token is not None:
            if env_token:
                env["ATTESTD_TOKEN"] = token
            else:
                cmd += ["--token-file", self.token_file(token)]
        p = subprocess.run(cmd + list(args), input=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, timeout=120)
        self.outputs.append(p.stdout + p.stderr)
        return p

    @staticmethod
    def describe(p):
        return "rc=%d out=%r err=%r" % (p.returncode, p.stdout[:300], p.stderr[:400])


def jout(p):
    try:
        return json.loads(p.stdout.decode())
    except ValueError:
        return None


def run_policy(res, ctl, owner, a, work):
    pol = os.path.join(work, "odd.policy")
    with open(pol, "wb") as f:
        f.write(ODD_POLICY.encode())
    # AAD (the default provider): unsigned set, byte-exact get, reset.
    p = ctl.run("policy", "set", "--provider", "default", "--type", "SgxEnclave", pol,
                token=owner)
    o = jout(p) or {}
    sent = "eyJhbGciOiJub25lIn0." + b64url(json.dumps(
        {"AttestationPolicy": b64url(ODD_POLICY)}, separators=(",", ":"))) + "."
    want_hash = b64url(hashlib.sha256(sent.encode()).digest())
    res.check("policy set unsigned (AAD) -> Updated, hash of the unsigned JWS, no signer",
              p.returncode == 0 and o.get("result") == "Updated" and
              o.get("policy_token_hash") == want_hash and "signer" not in o, ctl.describe(p))
    p = ctl.run("policy", "get", "--provider", "default", "--type", "SgxEnclave", token=owner)
    res.check("policy get returns the text byte-exact",
              p.returncode == 0 and p.stdout == ODD_POLICY.encode(), ctl.describe(p))
    p = ctl.run("policy", "set", "--provider", "default", "--type", "OpenEnclave", token=owner,
                env_token=True, stdin=POLICY.encode())
    res.check("policy set from stdin with $ATTESTD_TOKEN",
              p.returncode == 0 and (jout(p) or {}).get("result") == "Updated", ctl.describe(p))
    p = ctl.run("policy", "reset", "--provider", "default", "--type", "SgxEnclave", token=owner)
    o = jout(p) or {}
    res.check("policy reset (AAD) -> Removed with the vector hash",
              p.returncode == 0 and o.get("result") == "Removed" and
              o.get("policy_token_hash") == "SlVJkQKpZtLXQJDncc2fBGyLLhf6wuSfG3T2LQw3Xus",
              ctl.describe(p))
    p = ctl.run("policy", "get", "--provider", "default", "--type", "SgxEnclave", token=owner)
    res.check("policy get after reset -> the default policy",
              p.returncode == 0 and b"version" in p.stdout and
              p.stdout != ODD_POLICY.encode(), ctl.describe(p))
    # Isolated: signed by A.
    p = ctl.run("policy", "set", "--provider", "iso", "--type", "TdxVm", pol,
                "--sign-key", a["key"], "--sign-cert", a["cert"], token=owner)
    o = jout(p) or {}
    res.check("policy set signed (isolated) -> Updated, signer = A",
              p.returncode == 0 and o.get("result") == "Updated" and
              (o.get("signer") or {}).get("x5c") == [a["x5c"]], ctl.describe(p))
    p = ctl.run("policy", "get", "--provider", "iso", "--type", "TdxVm", token=owner)
    res.check("policy get (isolated) byte-exact",
              p.returncode == 0 and p.stdout == ODD_POLICY.encode(), ctl.describe(p))
    p = ctl.run("policy", "set", "--provider", "iso", "--type", "TdxVm", pol, token=owner)
    res.check("policy set unsigned on isolated -> exit 1 InvalidOperation",
              p.returncode == 1 and b"InvalidOperation" in p.stderr, ctl.describe(p))
    p = ctl.run("policy", "reset", "--provider", "iso", "--type", "TdxVm",
                "--sign-key", a["key"], "--sign-cert", a["cert"], token=owner)
    o = jout(p) or {}
    res.check("policy reset signed (isolated) -> Removed, signer = A",
              p.returncode == 0 and o.get("result") == "Removed" and
              (o.get("signer") or {}).get("x5c") == [a["x5c"]], ctl.describe(p))


def run_signers(res, ctl, owner, a, b):
    p = ctl.run("signer", "list", "--provider", "iso", token=owner)
    keys = (jout(p) or {}).get("keys")
    res.check("signer list -> [A] as JWKs",
              p.returncode == 0 and [k.get("x5c") for k in keys or []] == [[a["x5c"]]],
              ctl.describe(p))
    p = ctl.run("signer", "add", "--provider", "iso", "--cert", b["cert"], "--sign-key", a["key"],
                "--sign-cert", a["cert"], token=owner)
    o = jout(p) or {}
    res.check("signer add B (signed by A) -> IsPresent, B's thumbprint",
              p.returncode == 0 and o.get("result") == "IsPresent" and
              (o.get("thumbprint") or "").upper() == b["thumbprint"], ctl.describe(p))
    p = ctl.run("signer", "list", "--provider", "iso", token=owner)
    keys = (jout(p) or {}).get("keys") or []
    res.check("signer list -> A and B",
              p.returncode == 0 and sorted(k["x5c"][0] for k in keys) ==
              sorted([a["x5c"], b["x5c"]]), ctl.describe(p))
    p = ctl.run("signer", "remove", "--provider", "iso", "--cert", b["cert"],
                "--sign-key", b["key"], "--sign-cert", b["cert"], token=owner)
    o = jout(p) or {}
    res.check("signer remove B (signed by B) -> IsAbsent",
              p.returncode == 0 and o.get("result") == "IsAbsent", ctl.describe(p))
    p = ctl.run("signer", "add", "--provider", "default", "--cert", b["cert"],
                "--sign-key", a["key"], "--sign-cert", a["cert"], token=owner)
    res.check("signer add on AAD -> exit 1 InvalidOperation",
              p.returncode == 1 and b"InvalidOperation" in p.stderr, ctl.describe(p))


def run_failures(res, ctl, owner, reader, idp, a):
    pol = os.path.join(ctl.workdir, "plain.policy")
    with open(pol, "w") as f:
        f.write(POLICY)
    p = ctl.run("policy", "get", "--provider", "default", "--type", "SgxEnclave", token=reader)
    res.check("Reader policy get -> 0", p.returncode == 0 and b"version" in p.stdout,
              ctl.describe(p))
    p = ctl.run("policy", "set", "--provider", "default", "--type", "SgxEnclave", pol,
                token=reader)
    res.check("Reader policy set -> exit 1, 403 Forbidden",
              p.returncode == 1 and b"403" in p.stderr and b"Forbidden" in p.stderr,
              ctl.describe(p))
    bad = idp.token(["Attestation.Owner"], key=idp.rogue_key)
    p = ctl.run("policy", "get", "--provider", "default", "--type", "SgxEnclave", token=bad)
    res.check("bad token -> exit 1, 401", p.returncode == 1 and b"401" in p.stderr,
              ctl.describe(p))
    p = ctl.run("policy", "get", "--provider", "default", "--type", "SgxEnclave", token=owner,
                url="https://127.0.0.1:1")
    res.check("unreachable URL -> exit 2", p.returncode == 2, ctl.describe(p))
    p = ctl.run("policy", "get", "--provider", "default", "--type", "SgxEnclave", token=owner,
                ca=a["cert"])
    res.check("server not trusted by --cacert -> exit 2", p.returncode == 2, ctl.describe(p))
    p = ctl.run("policy", "get", "--type", "SgxEnclave", token=owner)
    res.check("missing --provider -> exit 2", p.returncode == 2, ctl.describe(p))
    p = ctl.run("policy", "get", "--provider", "default", "--type", "SgxEnclave")
    res.check("no token -> exit 2", p.returncode == 2, ctl.describe(p))
    p = ctl.run("policy", "get", "--provider", "nosuch", "--type", "SgxEnclave", token=owner)
    res.check("unknown provider -> exit 1, 404", p.returncode == 1 and b"404" in p.stderr,
              ctl.describe(p))
    p = ctl.run("signer", "add", "--provider", "iso", "--cert", a["cert"], token=owner)
    res.check("signer add without --sign-key -> exit 2", p.returncode == 2, ctl.describe(p))
    p = ctl.run("policy", "get", "--provider", "default", "--type", "SgxEnclave", token=owner,
                url="http://127.0.0.1:1")
    res.check("http:// URL refused -> exit 2", p.returncode == 2, ctl.describe(p))


def listing(p, key):
    """The list of a management listing: the brief's {"<key>": [...]} or the server's
    Azure-style {"value": [...]} (attestctl prints whichever the server sends)."""
    o = jout(p) or {}
    v = o.get(key, o.get("value"))
    return v if isinstance(v, list) else []


def admin_available(ctl, owner):
    p = ctl.run("provider", "list", token=owner)
    if p.returncode == 1 and b"HTTP 404" in p.stderr:
        return False
    return True


def run_admin(res, ctl, owner, reader, a):
    why = "the server answers 404 for /admin (management API not landed in this tree)"
    if not admin_available(ctl, owner):
        for name in ("provider create aad", "provider create isolated", "provider list",
                     "provider show", "provider delete", "role assign", "role list",
                     "role remove", "Reader provider create -> 403"):
            res.skip(name, why)
        return
    p = ctl.run("provider", "create", "rp-aad", "--mode", "aad", token=owner)
    o = jout(p) or {}
    res.check("provider create aad", p.returncode == 0 and o.get("name") == "rp-aad" and
              o.get("mode") == "aad", ctl.describe(p))
    p = ctl.run("provider", "create", "rp-iso", "--mode", "isolated", "--alg", "RS256",
                "--signer-cert", a["cert"], "--require-token", token=owner)
    o = jout(p) or {}
    res.check("provider create isolated with a signer",
              p.returncode == 0 and o.get("mode") == "isolated" and
              o.get("require_token_for_attestation") is True, ctl.describe(p))
    p = ctl.run("provider", "create", "rp-aad", token=owner)
    res.check("provider create existing -> exit 1 (409)",
              p.returncode == 1 and b"409" in p.stderr, ctl.describe(p))
    p = ctl.run("provider", "list", token=owner)
    names = [x.get("name") for x in listing(p, "providers")]
    res.check("provider list", p.returncode == 0 and {"rp-aad", "rp-iso"} <= set(names),
              ctl.describe(p))
    p = ctl.run("provider", "show", "rp-iso", token=owner)
    res.check("provider show", p.returncode == 0 and (jout(p) or {}).get("name") == "rp-iso",
              ctl.describe(p))
    p = ctl.run("provider", "create", "rp-x", token=reader)
    res.check("Reader provider create -> 403", p.returncode == 1 and b"403" in p.stderr,
              ctl.describe(p))
    p = ctl.run("provider", "delete", "rp-aad", token=owner)
    p2 = ctl.run("provider", "show", "rp-aad", token=owner)
    res.check("provider delete", p.returncode == 0 and p2.returncode == 1,
              ctl.describe(p) + ctl.describe(p2))
    p = ctl.run("role", "assign", "--principal", "oid-someone", "--role", "Contributor",
                "--scope", "rp-iso", token=owner)
    res.check("role assign", p.returncode == 0, ctl.describe(p))
    p = ctl.run("role", "list", "--principal", "oid-someone", token=owner)
    ras = listing(p, "roleAssignments")
    res.check("role list", p.returncode == 0 and
              {"principal": "oid-someone", "role": "Contributor", "scope": "rp-iso"} in ras,
              ctl.describe(p))
    p = ctl.run("role", "remove", "--principal", "oid-someone", "--scope", "rp-iso", token=owner)
    p2 = ctl.run("role", "list", "--principal", "oid-someone", token=owner)
    res.check("role remove", p.returncode == 0 and
              p2.returncode == 0 and not listing(p2, "roleAssignments"),
              ctl.describe(p) + ctl.describe(p2))


def run_sign(res, exe, a, work):
    pol = os.path.join(work, "sign.policy")
    with open(pol, "w") as f:
        f.write(POLICY)
    p = subprocess.run([exe, "policy", "sign", "--key", a["key"], "--cert", a["cert"], pol],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    jws = p.stdout.decode().strip()
    parts = jws.split(".")
    ok = p.returncode == 0 and len(parts) == 3
    if ok:
        hdr = json.loads(b64url_decode(parts[0]))
        body = json.loads(b64url_decode(parts[1]))
        ok = (hdr == {"alg": "RS256", "x5c": [a["x5c"]]} and list(hdr) == ["alg", "x5c"] and
              b64url_decode(body["AttestationPolicy"]).decode() == POLICY)
    if ok:
        pub = os.path.join(work, "a-pub.pem")
        with open(pub, "wb") as f:
            f.write(openssl("x509", "-in", a["cert"], "-pubkey", "-noout"))
        sig = os.path.join(work, "sign.sig")
        with open(sig, "wb") as f:
            f.write(b64url_decode(parts[2]))
        v = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", sig],
                           input=(parts[0] + "." + parts[1]).encode(), capture_output=True)
        ok = v.returncode == 0
    res.check("policy sign: MAA header, payload, RS256 signature verified by openssl", ok,
              "rc=%d %r %r" % (p.returncode, p.stdout[:200], p.stderr[:200]))
    # An EC P-256 signer gives ES256.
    key = os.path.join(work, "ec-key.pem")
    cert = os.path.join(work, "ec-cert.pem")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=ec signer")
    p = subprocess.run([exe, "policy", "sign", "--key", key, "--cert", cert, pol],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    parts = p.stdout.decode().strip().split(".")
    ok = p.returncode == 0 and len(parts) == 3 and \
        json.loads(b64url_decode(parts[0]))["alg"] == "ES256" and \
        len(b64url_decode(parts[2])) == 64
    res.check("policy sign with a P-256 key -> ES256 (r||s)", ok, repr(p.stderr[:200]))
    p = subprocess.run([exe, "policy", "sign", "--key", key, "--cert", a["cert"], pol],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    res.check("policy sign with a key not matching the cert -> exit 1",
              p.returncode == 1 and p.stdout == b"", repr(p.stderr[:200]))
    leaked = b"PRIVATE KEY" in p.stderr + p.stdout
    res.check("policy sign prints no key material", not leaked)


def run_local_role(res, build, data):
    def ctl(*args):
        return harness.attestctl(build, data, "role", *args, check=False)
    p = ctl("assign", "--principal", "oid-local", "--role", "reader", "--scope", "iso")
    o = jout(p) or {}
    res.check("local role assign", p.returncode == 0 and o == {
        "principal": "oid-local", "role": "Reader", "scope": "iso"}, repr(p.stderr))
    p = ctl("list", "--principal", "oid-local")
    res.check("local role list", p.returncode == 0 and (jout(p) or {}).get("value") ==
              [{"principal": "oid-local", "role": "Reader", "scope": "iso"}], repr(p.stdout))
    p = ctl("assign", "--principal", "oid-local", "--role", "Admin")
    res.check("local role assign unknown role -> 1", p.returncode == 1, repr(p.stderr))
    p = ctl("remove", "--principal", "oid-local", "--scope", "iso")
    p2 = ctl("list")
    res.check("local role remove", p.returncode == 0 and
              all(x["principal"] != "oid-local"
                  for x in (jout(p2) or {}).get("roleAssignments", [])), repr(p2.stdout))
    p = ctl("remove", "--principal", "oid-local", "--scope", "iso")
    res.check("local role remove missing -> 1", p.returncode == 1, repr(p.stderr))
    p = ctl("list", "--bogus")
    res.check("local role bad option -> 2", p.returncode == 2, repr(p.stderr))


def run(res, args, exe, work):
    d = None
    try:
        idp = TestIdP(work)
        a = make_signer(work, "A")
        b = make_signer(work, "B")
        data = os.path.join(work, "data")
        harness.attestctl(args.build_dir, data, "provider", "create", "iso", "--mode",
                          "isolated", "--signer-cert", a["cert"])
        run_local_role(res, args.build_dir, data)
        conf = os.path.join(work, "attestd.conf")
        harness.write_conf(conf, idp=idp)
        d = harness.Daemon(args.build_dir, data, conf)
        port = d.start()
        ctl = Ctl(exe, "https://localhost:%d" % port, d.ca, work)
        owner = idp.token(["Attestation.Owner"], sub="cli-owner")
        reader = idp.token(["Attestation.Reader"], sub="cli-reader")
        run_sign(res, exe, a, work)
        run_policy(res, ctl, owner, a, work)
        run_signers(res, ctl, owner, a, b)
        run_failures(res, ctl, owner, reader, idp, a)
        run_admin(res, ctl, owner, reader, a)
        tokens = [owner, reader, idp.token(["Attestation.Owner"], key=idp.rogue_key)]
        sigs = [t.split(".")[2].encode() for t in tokens]
        leaked = [o for o in ctl.outputs if any(s in o for s in sigs)]
        res.check("no bearer token in attestctl's stdout or stderr (%d runs)" % len(ctl.outputs),
                  not leaked, repr(leaked[:1])[:300])
    except Exception as ex:
        res.crashed(ex, "harness")
    finally:
        if d is not None:
            rc = d.stop()
            res.check("attestd shutdown", rc == 0, d.log()[-2000:] if rc != 0 else "")


def main():
    args = harness.arg_parser().parse_args()
    if harness.find_tool("openssl", skip=harness.OPENSSL_MISSING) is None:
        return 0
    exe = harness.binary(args.build_dir, "attestctl")
    if exe is None:
        print("attestctl not built in %s" % args.build_dir)
        return 1
    res = harness.Results()
    with harness.workdir("cli-remote", args.keep) as work:
        run(res, args, exe, work)
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
