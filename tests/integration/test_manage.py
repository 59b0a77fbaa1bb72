#!/usr/bin/env python3
"""The management plane through the real daemon over TLS (standard library + openssl CLI).

    python3 test_manage.py --build-dir BUILD [--keep]

A test identity provider (idp.py: RSA key from openssl, JWKS file, oidc_config JSON,
RS256 tokens signed with `openssl dgst`) backs attestd's `oidc_config`. Providers: the
default one (AAD mode) and `iso`, created with `attestctl provider create iso --mode
isolated --signer-cert A.pem` (A made with openssl).

1. Matrix: roles (none, Reader, Contributor, Owner through the token's `roles` claim and
   the role map) x the six management operations x {AAD, Isolated}, each cell with its
   expected status; 200 answers are checked (token signature against /certs, claims).
2. Token negatives: missing, expired, not yet valid, wrong issuer, wrong audience, bad
   signature, alg none, HS256 keyed with the public key, unknown kid, not Bearer: 401
   with a WWW-Authenticate Bearer challenge (no error= for a missing token).
3. Trust-model and protocol checks: Isolated refuses unsigned and wrongly signed
   requests and the removal of the last certificate; the maa-api.md §2.5 token-hash
   vectors; byte-exact policy round trip; api-version required; unknown provider/type.
4. A daemon without oidc_config answers 401 "no identity provider is configured".
5. Audit lines exist for actions and refusals, and no bearer token reaches the log.

Prints one line per check, then "N passed, M failed"; exits non-zero on any failure.
"""

import base64
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import b64url_decode, token_hash  # noqa: E402
from idp import TestIdP, jws, make_signer, openssl, policy_jws  # noqa: E402

API = "api-version=2020-10-01"
POLICY = "version=1.0; authorizationrules{=> permit();}; issuancerules{};"
VEC_BODY = ("eyJhbGciOiJub25lIn0.eyJBdHRlc3RhdGlvblBvbGljeSI6ImRtVnljMmx2YmoweExqQTdJR0YxZEdodmN"
            "tbDZZWFJwYjI1eWRXeGxjM3M5UGlCd1pYSnRhWFFvS1R0OU95QnBjM04xWVc1alpYSjFiR1Z6ZTMwNyJ9.")
VEC_HASH = "c6sEJQItV50OeP9IrP_bzywAMOVvj5uDPbklA_bwdYQ"
VEC_RESET = "eyJhbGciOiJub25lIn0.."
VEC_RESET_HASH = "SlVJkQKpZtLXQJDncc2fBGyLLhf6wuSfG3T2LQw3Xus"
ROLES = {"none": None, "Reader": ["Attestation.Reader"],
         "Contributor": ["Attestation.Contributor"], "Owner": ["Attestation.Owner"]}


def reset_jws(signer=None):
    if signer is None:
        return VEC_RESET
    return jws({"alg": "RS256", "x5c": [signer["x5c"]]}, None, signer["key"], raw_payload="")


def cert_jws(target, signer, claim="policyCertificate"):
    payload = {claim: {"kty": "RSA", "x5c": [target["x5c"]]}}
    return json.dumps(jws({"alg": "RS256", "x5c": [signer["x5c"]]}, payload, signer["key"]))


class Mgmt:
    def __init__(self, client, workdir):
        self.c = client
        self.workdir = workdir
        self._certs = {}

    def call(self, method, path, body=None, token=None, auth=None, api=True):
        hdrs = {}
        if auth is not None:
            hdrs["Authorization"] = auth
        elif token is not None:
            hdrs["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = body.encode("utf-8") if isinstance(body, str) else body
            hdrs["Content-Type"] = "text/plain" if "/policies/" in path else "application/json"
        if api:
            path += ("&" if "?" in path else "?") + API
        return self.c.request(method, path, body=data, headers=hdrs)

    def verify_token(self, r, prefix):
        """The response JWT's signature against the provider's /certs x5c; its claims."""
        tok = (r.json or {}).get("token", "")
        parts = tok.split(".")
        if len(parts) != 3:
            return None
        hdr = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        if prefix not in self._certs:
            jwks = self.c.get(prefix + "/certs").json
            self._certs[prefix] = {k["kid"]: k["x5c"][0] for k in jwks["keys"]}
        x5c = self._certs[prefix].get(hdr.get("kid"))
        if x5c is None or hdr.get("alg") != "RS256":
            return None
        pem = os.path.join(self.workdir, "resp.pem")
        der = base64.b64decode(x5c)
        with open(pem, "wb") as f:
            f.write(openssl("x509", "-inform", "DER", data=der))
        pub = os.path.join(self.workdir, "resp-pub.pem")
        with open(pub, "wb") as f:
            f.write(openssl("x509", "-in", pem, "-pubkey", "-noout"))
        sig = os.path.join(self.workdir, "resp.sig")
        with open(sig, "wb") as f:
            f.write(b64url_decode(parts[2]))
        v = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", sig],
                           input=(parts[0] + "." + parts[1]).encode(), capture_output=True)
        return claims if v.returncode == 0 else None


def run_matrix(res, m, idp, a, b):
    providers = {"AAD": "", "Isolated": "/providers/iso"}
    for pname, prefix in providers.items():
        iso = pname == "Isolated"
        signer = a if iso else None
        ops = [
            ("policy.get", "GET", "/policies/SgxEnclave", None, "read"),
            ("policy.set", "PUT", "/policies/SgxEnclave", policy_jws(POLICY, signer), "write"),
            ("policy.reset", "POST", "/policies/SgxEnclave:reset", reset_jws(signer), "write"),
            ("certs.get", "GET", "/certificates", None, "read"),
            ("certs.add", "POST", "/certificates:add", cert_jws(b, a), "cert"),
            ("certs.remove", "POST", "/certificates:remove", cert_jws(b, a), "cert"),
        ]
        for role, roles in ROLES.items():
            tok = idp.token(roles=roles, sub="matrix-" + role.lower())
            for name, method, path, body, kind in ops:
                if roles is None:
                    want = 403
                elif role == "Reader":
                    want = 200 if kind == "read" else 403
                elif kind == "cert":
                    want = 200 if iso else 400
                else:
                    want = 200
                r = m.call(method, prefix + path, body, token=tok)
                ok = r.status == want
                detail = repr(r)
                if ok and want == 403:
                    ok = r.error_code() == "Forbidden"
                if ok and want == 400:
                    ok = r.error_code() == "InvalidOperation"
                if ok and want == 200:
                    claims = m.verify_token(r, prefix)
                    ok = claims is not None
                    detail = "bad response token"
                    if ok and name == "policy.set":
                        ok = (claims.get("x-ms-policy-result") == "Updated" and
                              claims.get("x-ms-policy-token-hash") == token_hash(body) and
                              ("x-ms-policy-signer" in claims) == iso)
                        detail = json.dumps(claims)[:300]
                    elif ok and name == "policy.reset":
                        ok = claims.get("x-ms-policy-result") == "Removed"
                    elif ok and name == "certs.add":
                        ok = (claims.get("x-ms-policycertificates-result") == "IsPresent" and
                              claims.get("x-ms-certificate-thumbprint") == b["thumbprint"])
                    elif ok and name == "certs.remove":
                        ok = claims.get("x-ms-policycertificates-result") == "IsAbsent"
                    elif ok and name == "certs.get":
                        keys = claims.get("x-ms-policy-certificates", {}).get("keys")
                        ok = keys is not None and (len(keys) >= 1) == iso
                    elif ok and name == "policy.get":
                        ok = isinstance(claims.get("x-ms-policy"), str)
                res.check("matrix %s %s %s -> %d" % (pname, role, name, want), ok, detail)


def run_token_negatives(res, m, idp):
    owner = ["Attestation.Owner"]
    import time
    now = int(time.time())
    path = "/policies/SgxEnclave"
    cases = [
        ("expired", idp.token(owner, exp=now - 3600, iat=now - 7200, nbf=now - 7200)),
        ("not yet valid", idp.token(owner, nbf=now + 3600, iat=now)),
        ("wrong issuer", idp.token(owner, iss="https://evil.example/v2.0")),
        ("wrong audience", idp.token(owner, aud="api://someone-else")),
        ("bad signature", idp.token(owner, key=idp.rogue_key)),
        ("alg none", idp.token_alg_none(owner)),
        ("HS256 with the public key", idp.token_hs256_with_public_key(owner)),
        ("unknown kid", idp.token(owner, header={"alg": "RS256", "typ": "JWT", "kid": "nope"})),
        ("garbage", "not.a.jwt"),
    ]
    for name, tok in cases:
        r = m.call("GET", path, token=tok)
        www = r.headers.get("www-authenticate", "")
        res.check("token %s -> 401 invalid_token" % name,
                  r.status == 401 and r.error_code() == "Unauthorized" and
                  www.startswith("Bearer realm=\"attestd\"") and 'error="invalid_token"' in www
                  and "error_description=" in www, "%r www=%r" % (r, www))
    r = m.call("GET", path)
    www = r.headers.get("www-authenticate", "")
    res.check("token missing -> 401 without error=",
              r.status == 401 and www.startswith("Bearer realm=\"attestd\"") and
              "error=" not in www.replace("error_description=", ""), "%r www=%r" % (r, www))
    r = m.call("GET", path, auth="Basic dXNlcjpwYXNz")
    res.check("token not Bearer -> 401", r.status == 401 and "www-authenticate" in r.headers,
              repr(r))
    ok_tok = idp.token(owner)
    r = m.call("GET", path, token=ok_tok)
    res.check("token valid Owner -> 200", r.status == 200, repr(r))
    return [t for _, t in cases] + [ok_tok]


def run_trust_checks(res, m, idp, a, b, c):
    tok = idp.token(["Attestation.Owner"], sub="trust-owner")
    iso = "/providers/iso"
    # Isolated: unsigned, bare text, wrong signer.
    r = m.call("PUT", iso + "/policies/SgxEnclave", policy_jws(POLICY), token=tok)
    res.check("isolated unsigned set -> 400 InvalidOperation",
              r.status == 400 and r.error_code() == "InvalidOperation", repr(r))
    r = m.call("PUT", iso + "/policies/SgxEnclave", policy_jws(POLICY, c), token=tok)
    res.check("isolated set by unregistered cert -> 400 naming it",
              r.status == 400 and r.error_code() == "InvalidOperation" and
              c["thumbprint"] in (r.error_message() or ""), repr(r))
    r = m.call("POST", iso + "/policies/SgxEnclave:reset", VEC_RESET, token=tok)
    res.check("isolated unsigned reset -> 400", r.status == 400, repr(r))
    r = m.call("POST", iso + "/certificates:add", cert_jws(c, c), token=tok)
    res.check("isolated add signed by stranger -> 400", r.status == 400, repr(r))
    r = m.call("POST", iso + "/certificates:remove", cert_jws(a, a), token=tok)
    res.check("isolated remove of the last certificate -> 400",
              r.status == 400 and r.error_code() == "InvalidOperation", repr(r))
    # Rotate: add B (signed by A), remove A (signed by B), B signs a policy, A no longer.
    r = m.call("POST", iso + "/certificates:add", cert_jws(b, a, "maa-policyCertificate"),
               token=tok)
    res.check("isolated add B by A", r.status == 200, repr(r))
    r = m.call("POST", iso + "/certificates:remove", cert_jws(a, b, "x-ms-policyCertificate"),
               token=tok)
    res.check("isolated remove A by B", r.status == 200, repr(r))
    r = m.call("PUT", iso + "/policies/TdxVm", policy_jws(POLICY, a), token=tok)
    res.check("isolated A no longer signs", r.status == 400, repr(r))
    body = policy_jws(POLICY, b)
    r = m.call("PUT", iso + "/policies/TdxVm", body, token=tok)
    claims = m.verify_token(r, iso) if r.status == 200 else None
    signer = (claims or {}).get("x-ms-policy-signer", {})
    res.check("isolated B signs, x-ms-policy-signer = B",
              claims is not None and signer.get("x5c") == [b["x5c"]] and
              claims.get("x-ms-policy") == body, repr(r))
    r = m.call("GET", iso + "/certificates", token=tok)
    claims = m.verify_token(r, iso) if r.status == 200 else None
    keys = ((claims or {}).get("x-ms-policy-certificates") or {}).get("keys", [])
    res.check("isolated certificate list = [B]", [k.get("x5c") for k in keys] == [[b["x5c"]]],
              json.dumps(claims)[:300])
    # AAD: the SDK vectors, JSON-quoted body, bare text, round trip, default after reset.
    r = m.call("PUT", "/policies/OpenEnclave", VEC_BODY, token=tok)
    claims = m.verify_token(r, "") if r.status == 200 else None
    res.check("vector set hash", (claims or {}).get("x-ms-policy-token-hash") == VEC_HASH,
              repr(r))
    r = m.call("PUT", "/policies/OpenEnclave", json.dumps(VEC_BODY), token=tok)
    claims = m.verify_token(r, "") if r.status == 200 else None
    res.check("vector set hash (JSON-quoted body)",
              (claims or {}).get("x-ms-policy-token-hash") == VEC_HASH, repr(r))
    r = m.call("POST", "/policies/OpenEnclave:reset", VEC_RESET, token=tok)
    claims = m.verify_token(r, "") if r.status == 200 else None
    res.check("vector reset hash", (claims or {}).get("x-ms-policy-token-hash") == VEC_RESET_HASH,
              repr(r))
    text = "\nversion= 1.0;\r\nauthorizationrules\r\n{\t=> permit(); };\r\nissuancerules { };"
    r = m.call("PUT", "/policies/SevSnpVm", policy_jws(text), token=tok)
    r2 = m.call("GET", "/policies/sevsnpvm", token=tok)
    claims = m.verify_token(r2, "") if r2.status == 200 else None
    got = None
    if claims:
        inner = claims["x-ms-policy"].split(".")
        got = b64url_decode(json.loads(b64url_decode(inner[1]))["AttestationPolicy"]).decode()
    res.check("policy text round trip byte-exact", r.status == 200 and got == text,
              "%r %r" % (r, got))
    r = m.call("PUT", "/policies/SgxEnclave", policy_jws("version=1.0; authorizationrules{ c:[type==] "
                                                          "=> permit(); }; issuancerules{};"),
               token=tok)
    res.check("unparsable policy -> 400 PolicyParsingError",
              r.status == 400 and r.error_code() == "PolicyParsingError", repr(r))
    r = m.call("POST", "/certificates:add", cert_jws(b, a), token=tok)
    res.check("AAD add -> 400 InvalidOperation",
              r.status == 400 and r.error_code() == "InvalidOperation", repr(r))
    r = m.call("GET", "/policies/SgxEnclave", token=tok, api=False)
    res.check("missing api-version -> 400", r.status == 400, repr(r))
    r = m.call("GET", "/providers/nosuch/policies/SgxEnclave", token=tok)
    res.check("unknown provider -> 404", r.status == 404, repr(r))
    r = m.call("GET", "/policies/Bogus", token=tok)
    res.check("unknown type -> 404", r.status == 404, repr(r))
    r = m.call("DELETE", "/policies/SgxEnclave", token=tok)
    res.check("DELETE policy -> 405", r.status == 405, repr(r))
    return [tok]


def run(res, args, work):
    daemons = []
    try:
        idp = TestIdP(work)
        a = make_signer(work, "A")
        b = make_signer(work, "B")
        c = make_signer(work, "C")
        data = os.path.join(work, "data")
        harness.attestctl(args.build_dir, data, "provider", "create", "iso", "--mode",
                          "isolated", "--signer-cert", a["cert"])
        conf = os.path.join(work, "attestd.conf")
        harness.write_conf(conf, idp=idp)
        d = harness.Daemon(args.build_dir, data, conf)
        daemons.append(d)
        port = d.start()
        m = Mgmt(harness.Client(port, d.ca), work)

        tokens = []
        run_matrix(res, m, idp, a, b)
        tokens += run_token_negatives(res, m, idp)
        tokens += run_trust_checks(res, m, idp, a, b, c)

        # 4. No identity provider configured: secure by default.
        data2 = os.path.join(work, "data2")
        d2 = harness.Daemon(args.build_dir, data2)
        daemons.append(d2)
        m2 = Mgmt(harness.Client(d2.start(), d2.ca), work)
        r = m2.call("GET", "/policies/SgxEnclave", token=tokens[-1])
        res.check("no oidc_config -> 401 no identity provider",
                  r.status == 401 and "no identity provider is configured" in
                  r.headers.get("www-authenticate", "") and
                  "no identity provider" in (r.error_message() or ""), repr(r))

        # 5. Audit records and no tokens in the log.
        log = d.log()
        audits = [json.loads(line) for line in log.splitlines() if line.startswith('{"audit"')]
        kinds = {x.get("audit") for x in audits}
        res.check("audit lines for actions, 401 and 403",
                  {"management", "unauthenticated", "forbidden"} <= kinds, str(kinds))
        res.check("audit records name principal and operation",
                  any(x.get("operation") == "policy.set" and x.get("principal") and
                      x.get("request_id") for x in audits), str(audits[:3]))
        leaked = [t for t in tokens if t and t.split(".")[-1] and t.split(".")[-1] in log]
        res.check("no bearer token in the log", not leaked, "%d leaked" % len(leaked))
    except Exception as ex:
        res.crashed(ex, "harness")
    finally:
        for d in daemons:
            rc = d.stop()
            res.check("attestd shutdown", rc == 0, d.log()[-2000:] if rc != 0 else "")


def main():
    args = harness.arg_parser().parse_args()
    if harness.find_tool("openssl", skip=harness.OPENSSL_MISSING) is None:
        return 0
    res = harness.Results()
    with harness.workdir("manage", args.keep) as work:
        run(res, args, work)
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
