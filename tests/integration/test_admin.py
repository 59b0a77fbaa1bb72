#!/usr/bin/env python3
"""The admin JSON API and per-provider token requirement through the real daemon over TLS.

    python3 test_admin.py --build-dir BUILD [--keep]

Uses harness.py (synthetic evidence from gen_evidence, the data dir, the daemon) and idp.py
(a test OIDC identity provider; RS256 tokens signed with the openssl command line).
Providers: default, `pa` and `pb` (attestctl), `clitok` (attestctl --require-token).

1. Matrix: principals x every /admin endpoint, each cell with its expected status.
   Principals: no token; token `roles` none / Reader / Contributor / Owner; and store role
   assignments Reader / Contributor / Owner at scope "*", at `pa` (the provider the
   endpoints target) and at `pb` (another provider), made through PUT /admin/roleAssignments
   by an Owner.
2. Provider lifecycle: create isolated with an openssl-made signer certificate, show, list,
   duplicate 409, the default provider undeletable, delete, 404 after; input errors.
3. require_token_for_attestation: anonymous attest 401, a token without a role 403, a
   Reader token 200, a store-assigned Reader 200; other providers, /certs and OpenID stay
   anonymous; PATCH turns it off; attestctl --require-token.
4. Audit records for admin calls, and no bearer token in the log.

Prints one line per check, then "N passed, M failed"; exits non-zero on any failure.
"""

import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import b64url, read  # noqa: E402
from idp import TENANT, TestIdP, make_signer  # noqa: E402

API = "api-version=2020-10-01"
ROLE_ORDER = {None: 0, "Reader": 1, "Contributor": 2, "Owner": 3}
TOKEN_ROLES = {"Reader": "Attestation.Reader", "Contributor": "Attestation.Contributor",
               "Owner": "Attestation.Owner"}


class Api:
    def __init__(self, client):
        self.c = client

    def call(self, method, path, body=None, token=None):
        hdrs = {}
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
        return self.c.request(method, path, body=body, headers=hdrs)


def principal_id(sub):
    return "%s/oid-%s" % (TENANT, sub)


# ------------------------------------------------------------------ the matrix

class Principal:
    def __init__(self, label, token, star, pa):
        self.label = label
        self.token = token
        self.star = star  # effective role on "no single provider"
        self.pa = pa      # effective role on provider pa


def make_principals(res, api, idp, admin):
    ps = [Principal("no token", None, None, None)]
    for role in (None, "Reader", "Contributor", "Owner"):
        roles = [TOKEN_ROLES[role]] if role else None
        tok = idp.token(roles=roles, sub="tok-%s" % (role or "none").lower())
        ps.append(Principal("token %s" % (role or "none"), tok, role, role))
    for role in ("Reader", "Contributor", "Owner"):
        for scope in ("*", "pa", "pb"):
            sub = "st-%s-%s" % (role.lower(), "star" if scope == "*" else scope)
            r = api.call("PUT", "/admin/roleAssignments",
                         {"principal": principal_id(sub), "role": role.lower(), "scope": scope},
                         token=admin)
            res.check("assign %s at %s -> 200" % (role, scope),
                      r.status == 200 and (r.json or {}).get("role") == role, repr(r))
            star = role if scope == "*" else None
            pa = role if scope in ("*", "pa") else None
            ps.append(Principal("store %s at %s" % (role, scope), idp.token(sub=sub), star, pa))
    return ps


def at_least(have, need):
    return ROLE_ORDER[have] >= ROLE_ORDER[need]


def endpoints(api, admin):
    """(name, need-role, on "pa" (else no single provider), ok status, run(token, n))."""
    def prov_create(tok, n):
        name = "mx-new-%d" % n
        r = api.call("PUT", "/admin/providers/" + name, {"mode": "aad"}, token=tok)
        api.call("DELETE", "/admin/providers/" + name, token=admin)
        return r

    def prov_delete(tok, n):
        name = "mx-del-%d" % n
        api.call("PUT", "/admin/providers/" + name, {"mode": "aad"}, token=admin)
        r = api.call("DELETE", "/admin/providers/" + name, token=tok)
        api.call("DELETE", "/admin/providers/" + name, token=admin)
        return r

    def role_assign(scope):
        def run(tok, n):
            victim = "victim-%d" % n
            r = api.call("PUT", "/admin/roleAssignments",
                         {"principal": victim, "role": "Reader", "scope": scope}, token=tok)
            api.call("DELETE", "/admin/roleAssignments?principal=%s&scope=%s" % (
                victim, "%2A" if scope == "*" else scope), token=admin)
            return r
        return run

    def role_remove(tok, n):
        victim = "victim-del-%d" % n
        api.call("PUT", "/admin/roleAssignments",
                 {"principal": victim, "role": "Reader", "scope": "pa"}, token=admin)
        r = api.call("DELETE", "/admin/roleAssignments?principal=%s&scope=pa" % victim,
                     token=tok)
        api.call("DELETE", "/admin/roleAssignments?principal=%s&scope=pa" % victim,
                 token=admin)
        return r

    return [
        ("GET providers", "Reader", False, 200,
         lambda tok, n: api.call("GET", "/admin/providers", token=tok)),
        ("GET providers/pa", "Reader", True, 200,
         lambda tok, n: api.call("GET", "/admin/providers/pa", token=tok)),
        ("PUT providers/new", "Owner", False, 201, prov_create),
        ("PATCH providers/pa", "Owner", True, 200,
         lambda tok, n: api.call("PATCH", "/admin/providers/pa",
                                 {"require_token_for_attestation": False}, token=tok)),
        ("DELETE providers/tmp", "Owner", False, 200, prov_delete),
        ("GET roleAssignments", "Owner", False, 200,
         lambda tok, n: api.call("GET", "/admin/roleAssignments", token=tok)),
        ("GET roleAssignments?scope=pa", "Owner", True, 200,
         lambda tok, n: api.call("GET", "/admin/roleAssignments?scope=pa", token=tok)),
        ("PUT roleAssignments scope=pa", "Owner", True, 200, role_assign("pa")),
        ("PUT roleAssignments scope=*", "Owner", False, 200, role_assign("*")),
        ("DELETE roleAssignments scope=pa", "Owner", True, 200, role_remove),
    ]


def run_matrix(res, api, idp, admin):
    principals = make_principals(res, api, idp, admin)
    eps = endpoints(api, admin)
    n = 0
    for p in principals:
        for name, need, on_pa, ok_status, run in eps:
            n += 1
            if p.token is None:
                want = 401
            else:
                have = p.pa if on_pa else p.star
                want = ok_status if at_least(have, need) else 403
            r = run(p.token, n)
            ok = r.status == want
            if ok and want == 401:
                ok = (r.error_code() == "Unauthorized" and
                      r.headers.get("www-authenticate", "").startswith("Bearer realm="))
            if ok and want == 403:
                ok = r.error_code() == "Forbidden"
            if ok and want < 300:
                ok = r.headers.get("content-type", "").startswith("application/json") and \
                    isinstance(r.json, dict)
            res.check("matrix [%s] x [%s] -> %d" % (p.label, name, want), ok, repr(r))
    return len(principals), len(eps)


# ------------------------------------------------------------------ lifecycle

def run_lifecycle(res, api, admin, signer):
    body = {"mode": "isolated", "alg": "RS256", "signer_certificates": [signer["x5c"]],
            "require_token_for_attestation": False}
    r = api.call("PUT", "/admin/providers/iso1", body, token=admin)
    o = r.json or {}
    res.check("create isolated -> 201 with the provider object",
              r.status == 201 and o.get("name") == "iso1" and o.get("mode") == "isolated" and
              o.get("alg") == "RS256" and o.get("signer_certificates") == 1 and
              o.get("require_token_for_attestation") is False and
              isinstance(o.get("kid"), str) and o.get("created_at", "").endswith("Z") and
              set(o) == {"name", "mode", "alg", "kid", "created_at", "signer_certificates",
                         "require_token_for_attestation", "allowed_networks"}
              and o.get("allowed_networks") is None, repr(r))
    r2 = api.call("GET", "/admin/providers/iso1", token=admin)
    res.check("show isolated = created", r2.status == 200 and r2.json == o, repr(r2))
    r = api.call("GET", "/admin/providers", token=admin)
    names = [x.get("name") for x in (r.json or {}).get("value", [])]
    res.check("list includes default, pa, pb, iso1 (sorted)",
              r.status == 200 and {"default", "pa", "pb", "iso1"} <= set(names) and
              names == sorted(names), repr(r))
    r = api.call("PUT", "/admin/providers/iso1", {"mode": "aad"}, token=admin)
    res.check("duplicate create -> 409 Conflict",
              r.status == 409 and r.error_code() == "Conflict", repr(r))
    r = api.call("DELETE", "/admin/providers/default", token=admin)
    res.check("delete default -> 400 InvalidOperation",
              r.status == 400 and r.error_code() == "InvalidOperation", repr(r))
    r = api.call("DELETE", "/admin/providers/iso1", token=admin)
    res.check("delete iso1 -> 200", r.status == 200, repr(r))
    r = api.call("GET", "/admin/providers/iso1", token=admin)
    res.check("show deleted -> 404", r.status == 404 and r.error_code() == "NotFound", repr(r))
    r = api.call("DELETE", "/admin/providers/iso1", token=admin)
    res.check("delete again -> 404", r.status == 404, repr(r))
    cases = [
        ("isolated without certificates", "iso2", {"mode": "isolated"}, 400),
        ("certificate not DER", "iso2", {"mode": "isolated", "signer_certificates": ["AAAA"]},
         400),
        ("unknown member", "iso2", {"mode": "aad", "colour": "blue"}, 400),
        ("bad mode", "iso2", {"mode": "Isolated"}, 400),
        ("invalid name", "Bad_Name", {"mode": "aad"}, 400),
        ("not JSON", "iso2", b"{mode", 400),
    ]
    for what, name, b, want in cases:
        r = api.call("PUT", "/admin/providers/" + name, b, token=admin)
        res.check("create %s -> %d" % (what, want),
                  r.status == want and r.error_code() == "InvalidParameter", repr(r))
    r = api.call("GET", "/admin/providers/iso2", token=admin)
    res.check("failed creates leave nothing behind", r.status == 404, repr(r))
    r = api.call("POST", "/admin/providers", {}, token=admin)
    res.check("POST /admin/providers -> 405",
              r.status == 405 and "GET" in r.headers.get("allow", ""), repr(r))
    r = api.call("GET", "/admin/nothing", token=admin)
    res.check("unknown admin path -> 404", r.status == 404, repr(r))
    r = api.call("PUT", "/admin/roleAssignments",
                 {"principal": "x", "role": "Reader", "scope": "ghost"}, token=admin)
    res.check("assign to a missing provider -> 404", r.status == 404, repr(r))
    r = api.call("PUT", "/admin/roleAssignments", {"principal": "x", "role": "Boss",
                                                   "scope": "*"}, token=admin)
    res.check("assign an unknown role -> 400", r.status == 400, repr(r))
    r = api.call("DELETE", "/admin/roleAssignments?principal=nobody&scope=pa", token=admin)
    res.check("remove a missing assignment -> 404", r.status == 404, repr(r))
    r = api.call("DELETE", "/admin/roleAssignments?principal=nobody", token=admin)
    res.check("remove without scope -> 400", r.status == 400, repr(r))
    sub = "st-reader-pa"
    r = api.call("GET", "/admin/roleAssignments?principal=%s" % principal_id(sub), token=admin)
    res.check("list filtered by principal",
              r.status == 200 and (r.json or {}).get("value") ==
              [{"principal": principal_id(sub), "role": "Reader", "scope": "pa"}], repr(r))


# ------------------------------------------------------------------ require token

def run_require_token(res, api, idp, admin, body_sgx):
    path = "/providers/tok/attest/SgxEnclave?" + API
    r = api.call("PUT", "/admin/providers/tok",
                 {"mode": "aad", "require_token_for_attestation": True}, token=admin)
    res.check("create tok with require_token_for_attestation -> 201",
              r.status == 201 and (r.json or {}).get("require_token_for_attestation") is True,
              repr(r))
    r = api.call("POST", path, body_sgx)
    www = r.headers.get("www-authenticate", "")
    res.check("attest tok anonymous -> 401 with a Bearer challenge",
              r.status == 401 and r.error_code() == "Unauthorized" and
              www.startswith("Bearer realm=\"attestd\""), "%r %r" % (r, www))
    r = api.call("POST", path, body_sgx, token=idp.token(sub="attester-none"))
    res.check("attest tok with a token but no role -> 403",
              r.status == 403 and r.error_code() == "Forbidden", repr(r))
    r = api.call("POST", path, body_sgx, token=idp.token(sub="x", key=idp.rogue_key,
                                                         roles=["Attestation.Reader"]))
    res.check("attest tok with a badly signed token -> 401", r.status == 401, repr(r))
    reader = idp.token(roles=["Attestation.Reader"], sub="attester-reader")
    r = api.call("POST", path, body_sgx, token=reader)
    res.check("attest tok with a Reader token -> 200 token",
              r.status == 200 and isinstance((r.json or {}).get("token"), str), repr(r))
    sub = "attester-store"
    api.call("PUT", "/admin/roleAssignments",
             {"principal": principal_id(sub), "role": "Reader", "scope": "tok"}, token=admin)
    r = api.call("POST", path, body_sgx, token=idp.token(sub=sub))
    res.check("attest tok with a store-assigned Reader -> 200", r.status == 200, repr(r))
    sub2 = "attester-elsewhere"
    api.call("PUT", "/admin/roleAssignments",
             {"principal": principal_id(sub2), "role": "Owner", "scope": "pa"}, token=admin)
    r = api.call("POST", path, body_sgx, token=idp.token(sub=sub2))
    res.check("attest tok with an Owner of another provider -> 403", r.status == 403, repr(r))
    r = api.call("POST", "/attest/SgxEnclave?" + API, body_sgx)
    res.check("attest default anonymous -> 200 (unaffected)", r.status == 200, repr(r))
    r = api.call("POST", "/providers/pb/attest/SgxEnclave?" + API, body_sgx)
    res.check("attest pb anonymous -> 200 (unaffected)", r.status == 200, repr(r))
    r = api.call("GET", "/providers/tok/certs")
    res.check("tok /certs stays anonymous", r.status == 200, repr(r))
    r = api.call("GET", "/providers/tok/.well-known/openid-configuration")
    res.check("tok OpenID metadata stays anonymous", r.status == 200, repr(r))
    r = api.call("POST", "/providers/clitok/attest/SgxEnclave?" + API, body_sgx)
    res.check("attestctl --require-token provider: anonymous -> 401", r.status == 401, repr(r))
    r = api.call("GET", "/admin/providers/clitok", token=admin)
    res.check("attestctl --require-token shows the flag",
              (r.json or {}).get("require_token_for_attestation") is True, repr(r))
    r = api.call("PATCH", "/admin/providers/tok", {"require_token_for_attestation": False},
                 token=admin)
    res.check("PATCH tok off -> 200", r.status == 200 and
              (r.json or {}).get("require_token_for_attestation") is False, repr(r))
    r = api.call("POST", path, body_sgx)
    res.check("attest tok anonymous after PATCH off -> 200", r.status == 200, repr(r))
    r = api.call("PATCH", "/admin/providers/tok", {"require_token_for_attestation": "yes"},
                 token=admin)
    res.check("PATCH with a non-boolean -> 400", r.status == 400, repr(r))
    return [reader]


def run(res, args, work):
    d = None
    try:
        idp = TestIdP(work)
        signer = make_signer(work, "A")
        env = harness.setup_synthetic(args.build_dir, work, providers=["pa", "pb"])
        harness.attestctl(args.build_dir, env["data_dir"], "provider", "create", "clitok",
                          "--require-token")
        harness.write_conf(env["config"], idp=idp, append=True)
        ev = env["evidence"]
        body_sgx = {"quote": b64url(read(os.path.join(ev, "sgx_v3.bin"))),
                    "runtimeData": {"data": b64url(read(os.path.join(ev, "runtime.bin"))),
                                    "dataType": "Binary"}}
        d = harness.Daemon(args.build_dir, env["data_dir"], env["config"], env["fixed_time"])
        api = Api(harness.Client(d.start(), d.ca))
        admin = idp.token(roles=["Attestation.Owner"], sub="admin")

        n_principals, n_endpoints = run_matrix(res, api, idp, admin)
        print("matrix: %d principals x %d endpoints" % (n_principals, n_endpoints))
        run_lifecycle(res, api, admin, signer)
        tokens = [admin] + run_require_token(res, api, idp, admin, body_sgx)

        log = d.log()
        audits = [json.loads(line) for line in log.splitlines() if line.startswith('{"audit"')]
        ops = {x.get("operation") for x in audits if x.get("audit") == "management"}
        res.check("audit records for every admin operation",
                  {"providers.list", "providers.show", "providers.create", "providers.update",
                   "providers.delete", "roleAssignments.list", "roleAssignments.assign",
                   "roleAssignments.remove"} <= ops, str(sorted(o for o in ops if o)))
        res.check("audit records name the principal and result",
                  any(x.get("operation") == "providers.create" and
                      x.get("principal") == principal_id("admin") and x.get("result") == "ok" and
                      x.get("provider") for x in audits), str(audits[:3]))
        kinds = {x.get("audit") for x in audits}
        res.check("audit records for 401 and 403", {"unauthenticated", "forbidden"} <= kinds,
                  str(kinds))
        res.check("refused attestation is audited",
                  any(x.get("operation") == "attest" and x.get("provider") == "tok"
                      for x in audits), "")
        leaked = [t for t in tokens if t.split(".")[-1] in log]
        res.check("no bearer token in the log", not leaked, "%d leaked" % len(leaked))
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
    res = harness.Results()
    with harness.workdir("admin", args.keep) as work:
        run(res, args, work)
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
