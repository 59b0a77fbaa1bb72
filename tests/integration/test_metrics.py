#!/usr/bin/env python3
"""GET /metrics through the real daemon (docs/metrics.md).

    python3 test_metrics.py --build-dir BUILD [--keep]

A daemon with synthetic evidence (harness.setup_synthetic) and a test identity provider
(idp.py) serves 3 good SGX attestations, 1 tampered quote, 3 refused bearer tokens
(missing, malformed, wrong signature) and 1 policy change. The scrape must then hold
those exact counter values, the latency histogram counts, build info, start time and the
collateral expiry gauge equal to the earliest nextUpdate of the imported collateral (TCB
info, QE identity, both CRLs, read here with the openssl CLI); it is piped into
`promtool check metrics` (must exit 0; SKIPPED line if promtool is absent). Negatives:
POST /metrics is 405; an unknown path is counted under route="unmatched".

Prints one line per check, then "N passed, M failed"; exits non-zero on any failure.
"""

import calendar
import json
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from idp import TestIdP, b64url, policy_jws  # noqa: E402

API = "api-version=2020-10-01"
POLICY = "version=1.0; authorizationrules{=> permit();}; issuancerules{};"
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, ((label, value), ...)): float} of every sample."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            raise ValueError("bad sample line: %r" % line)
        labels = tuple(sorted(LABEL_RE.findall(m.group(3) or "")))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def get(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def select(samples, name, **labels):
    """Samples of `name` whose labels include `labels`."""
    return {k[1]: v for k, v in samples.items()
            if k[0] == name and set(labels.items()) <= set(k[1])}


def iso_epoch(s):
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def crl_next_update(path):
    out = subprocess.run(["openssl", "crl", "-inform", "DER", "-in", path, "-noout",
                          "-nextupdate"], check=True, capture_output=True, text=True).stdout
    when = out.strip().split("=", 1)[1]
    return calendar.timegm(time.strptime(when, "%b %d %H:%M:%S %Y GMT"))


def expected_collateral(evdir):
    """(fmspc hex, earliest nextUpdate) of the SGX collateral as gen_evidence wrote it."""
    col = os.path.join(evdir, "collateral-sgx")
    tcb = json.load(open(os.path.join(col, "tcb_info.json")))
    tcb = tcb.get("tcbInfo", tcb)
    qe = json.load(open(os.path.join(col, "qe_identity.json")))
    qe = qe.get("enclaveIdentity", qe)
    times = [iso_epoch(tcb["nextUpdate"]), iso_epoch(qe["nextUpdate"]),
             crl_next_update(os.path.join(col, "pck_crl.der")),
             crl_next_update(os.path.join(col, "root_ca_crl.der"))]
    return tcb["fmspc"].lower(), min(times)


def scrape(c):
    r = c.request("GET", "/metrics")
    return r, r.body.decode("utf-8") if isinstance(r.body, bytes) else r.body


def run(res, build, work):
    env = harness.setup_synthetic(build, work)
    ev = env["evidence"]
    idp = TestIdP(work)
    harness.write_conf(env["config"], idp=idp, append=True)
    d = harness.Daemon(build, env["data_dir"], env["config"], env["fixed_time"])
    t_start = int(time.time())
    port = d.start()
    try:
        c = harness.Client(port, d.ca)
        q_sgx = harness.read(os.path.join(ev, "sgx_v3.bin"))
        q_bad = harness.read(os.path.join(ev, "sgx_tampered.bin"))
        rt_bin = {"data": b64url(harness.read(os.path.join(ev, "runtime.bin"))),
                  "dataType": "Binary"}
        path = "/attest/SgxEnclave?" + API
        for i in range(3):
            r = c.post(path, {"quote": b64url(q_sgx), "runtimeData": rt_bin})
            res.eq("attest %d: 200" % (i + 1), r.status, 200)
        r = c.post(path, {"quote": b64url(q_bad), "runtimeData": rt_bin})
        res.check("tampered quote refused", r.status == 400, repr(r))
        bad_code = r.error_code()

        policy = policy_jws(POLICY)
        ppath = "/policies/SgxEnclave?" + API
        hdr = {"Content-Type": "text/plain"}
        rogue = idp.token(roles=["Attestation.Owner"], key=idp.rogue_key)
        for label, auth in (("missing", None), ("malformed", "Bearer abc"),
                            ("wrong signature", "Bearer " + rogue)):
            h = dict(hdr)
            if auth:
                h["Authorization"] = auth
            r = c.request("PUT", ppath, body=policy.encode(), headers=h)
            res.eq("policy set with %s token: 401" % label, r.status, 401)
        owner = idp.token(roles=["Attestation.Owner"], sub="metrics-owner")
        h = dict(hdr, Authorization="Bearer " + owner)
        r = c.request("PUT", ppath, body=policy.encode(), headers=h)
        res.eq("policy set by an Owner: 200", r.status, 200)
        r = c.get("/no/such/path")
        res.eq("unknown path: 404", r.status, 404)
        r = c.request("POST", "/metrics", body=b"x", headers={"Content-Type": "text/plain"})
        res.eq("POST /metrics: 405", r.status, 405)

        r, text = scrape(c)
        res.eq("GET /metrics: 200", r.status, 200)
        res.eq("content type", r.headers.get("content-type"),
               "text/plain; version=0.0.4; charset=utf-8")
        s = parse(text)
        A = "attestd_attestations_total"
        res.eq("attestations ok = 3",
               get(s, A, provider="default", type="SgxEnclave", result="ok"), 3.0)
        res.eq("attestations failed = 1 under the response's error code",
               get(s, A, provider="default", type="SgxEnclave", result=bad_code or "?"), 1.0)
        res.eq("no other attestation series", len(select(s, A)), 2)
        F = "attestd_authentication_failures_total"
        res.eq("auth failures missing_token = 1", get(s, F, reason="missing_token"), 1.0)
        res.eq("auth failures malformed_token = 1", get(s, F, reason="malformed_token"), 1.0)
        res.eq("auth failures bad_signature = 1", get(s, F, reason="bad_signature"), 1.0)
        res.eq("auth failures: 3 in all", sum(select(s, F).values()), 3.0)
        P = select(s, "attestd_policy_changes_total", provider="default", operation="policy.set")
        res.eq("policy changes = 1", sum(P.values()), 1.0)
        types = {dict(k)["type"] for k in P}
        res.check("policy change type label", types <= {"SgxEnclave", "unknown"}, str(types))
        H = "attestd_http_requests_total"
        res.eq("http attest 200 = 3", get(s, H, route="attest", status="200"), 3.0)
        res.eq("http attest 400 = 1", get(s, H, route="attest", status="400"), 1.0)
        res.eq("http policy_set 401 = 3", get(s, H, route="policy_set", status="401"), 3.0)
        res.eq("http policy_set 200 = 1", get(s, H, route="policy_set", status="200"), 1.0)
        res.eq("http unmatched 404 = 1", get(s, H, route="unmatched", status="404"), 1.0)
        res.eq("http metrics 405 = 1", get(s, H, route="metrics", status="405"), 1.0)
        L = "attestd_http_request_duration_seconds"
        res.eq("latency count attest = 4", get(s, L + "_count", route="attest"), 4.0)
        res.eq("latency +Inf bucket attest = 4",
               get(s, L + "_bucket", route="attest", le="+Inf"), 4.0)
        buckets = sorted((float(dict(k)["le"]), v) for k, v in
                         select(s, L + "_bucket", route="attest").items())
        res.check("latency buckets cumulative",
                  all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), str(buckets))
        res.check("latency sum > 0", (get(s, L + "_sum", route="attest") or 0) > 0)
        res.eq("build info", get(s, "attestd_build_info", version="0.1.0"), 1.0)
        st = get(s, "attestd_process_start_time_seconds")
        res.check("process start time", st is not None and t_start - 5 <= st <= time.time(),
                  str(st))
        fmspc, want = expected_collateral(ev)
        G = select(s, "attestd_collateral_next_update_timestamp_seconds", tee="sgx",
                   fmspc=fmspc)
        res.eq("collateral expiry gauge (sgx, fmspc %s) = earliest nextUpdate" % fmspc,
               list(G.values()), [float(want)])
        res.eq("collateral expiry gauge: one series per stored bundle (sgx + tdx)",
               len(select(s, "attestd_collateral_next_update_timestamp_seconds")), 2)
        res.check("no bearer token in the scrape", owner.split(".")[2] not in text)

        r2, text2 = scrape(c)
        s2 = parse(text2)
        res.eq("the first scrape is counted", get(s2, H, route="metrics", status="200"), 1.0)

        promtool = harness.find_tool("promtool",
                                     skip="promtool check metrics (promtool not installed)")
        if promtool is not None:
            p = subprocess.run([promtool, "check", "metrics"], input=text2.encode(),
                               capture_output=True)
            res.check("promtool check metrics exits 0", p.returncode == 0,
                      (p.stdout + p.stderr).decode(errors="replace"))
    finally:
        rc = d.stop()
        res.eq("SIGTERM: exit status 0", rc, 0)
        if res.failed:
            print("---- attestd stderr ----\n%s\n----" % d.log()[-6000:])


def main():
    args = harness.arg_parser().parse_args()
    if harness.find_tool("openssl", skip=harness.OPENSSL_MISSING) is None:
        return 0
    res = harness.Results()
    with harness.workdir("metrics", args.keep) as work:
        try:
            run(res, args.build_dir, work)
        except Exception as ex:
            res.crashed(ex, "harness")
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
