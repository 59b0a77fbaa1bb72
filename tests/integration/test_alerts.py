#!/usr/bin/env python3
"""Alert rules and the HTTPS webhook sink through the real daemon (docs/alerts.md).

    python3 test_alerts.py --build-dir BUILD [--keep]

The test starts its own HTTPS webhook receiver on 127.0.0.1 (python http.server + ssl,
certificate from a private CA made with the openssl CLI at test time) and a daemon with
`alert_auth_failures = 5/60`, `alert_policy_changed = on`, `alert_webhook_url`,
`alert_webhook_ca` and `alert_webhook_token_file`. The receiver answers HTTP 500 to the
first two POSTs, so the first alert is delivered on the third attempt after backoff.

1. 4 bad bearer tokens from one source: no alert (below N). 3 more: exactly one
   auth_failures alert (cooldown: the burst fires once).
2. One policy change: exactly one policy_changed alert with provider and principal.
3. The receiver saw exactly 2 distinct alerts, 4 POSTs (2 refused + 2 delivered), the
   retries spaced by the backoff (>= 0.5 s, then >= 1.0 s), each with the bearer token
   from the token file and Content-Type application/json.
4. Audit lines "alert.auth_failures" / "alert.policy_changed"; metrics
   attestd_alerts_fired_total and attestd_alert_webhook_deliveries_total.
5. TLS verified: a daemon without alert_webhook_ca does not trust the receiver's private
   CA: the attempt fails with a certificate error, nothing is posted.
6. Collateral expiry: synthetic collateral 29 days from expiry and a 30-day threshold:
   one alert per stored bundle (sgx, tdx) at start, naming tee, FMSPC and CA.
7. Negatives: alert_webhook_url = http://... is refused when the config is read;
   alert_webhook_ca without alert_webhook_url refuses to start.

Prints one line per check, then "N passed, M failed"; exits non-zero on any failure.
"""

import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from idp import TestIdP, openssl, policy_jws  # noqa: E402

API = "api-version=2020-10-01"
POLICY = "version=1.0; authorizationrules{=> permit();}; issuancerules{};"
HOOK_TOKEN = "hook-secret-0123456789abcdef"


def make_pki(d):
    """A private CA and a server certificate for 127.0.0.1 / localhost."""
    ca_key, ca, key, csr, cert = (os.path.join(d, n) for n in
                                  ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem"))
    ext = os.path.join(d, "srv.ext")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=attestd test webhook CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
            "-out", cert, "-days", "2", "-extfile", ext)
    return ca, cert, key


class Receiver:
    """HTTPS POST receiver: the first `fail` requests get 500, the rest 200."""

    def __init__(self, cert, key, fail=2):
        self.posts = []  # (monotonic time, status sent, headers dict, body bytes)
        self.fail = fail
        self.lock = threading.Lock()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with outer.lock:
                    status = 500 if len(outer.posts) < outer.fail else 200
                    outer.posts.append((time.monotonic(), status,
                                        {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def delivered(self):
        with self.lock:
            return [p for p in self.posts if p[1] == 200]

    def all(self):
        with self.lock:
            return list(self.posts)

    def wait_delivered(self, n, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if len(self.delivered()) >= n:
                return True
            time.sleep(0.05)
        return False

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def start_fails(build, data, conf):
    """Run attestd with `conf`; it must exit non-zero. Returns (rc, stderr)."""
    exe = harness.binary(build, "attestd")
    p = subprocess.run([exe, "--listen", "127.0.0.1:0", "--data-dir", data, "--config", conf],
                       capture_output=True, timeout=30)
    return p.returncode, p.stderr.decode(errors="replace")


def run(res, build, work):
    ca, cert, key = make_pki(work)
    rcv = Receiver(cert, key, fail=2)
    idp = TestIdP(work)
    token_file = os.path.join(work, "hook.token")
    with open(token_file, "w") as f:
        f.write(HOOK_TOKEN + "\n")
    os.chmod(token_file, 0o600)
    data = os.path.join(work, "data")
    conf = os.path.join(work, "attestd.conf")
    harness.write_conf(conf, ["alert_auth_failures = 5/60", "alert_policy_changed = on",
                              "alert_webhook_url = https://127.0.0.1:%d/hook" % rcv.port,
                              "alert_webhook_ca = %s" % ca,
                              "alert_webhook_token_file = %s" % token_file], idp)
    d = harness.Daemon(build, data, conf)
    port = d.start()
    try:
        c = harness.Client(port, d.ca)
        ppath = "/policies/SgxEnclave?" + API
        policy = policy_jws(POLICY)
        rogue = idp.token(roles=["Attestation.Owner"], key=idp.rogue_key)

        def bad(i):
            auth = "Bearer " + (rogue if i % 2 else "not-a-jwt-%d" % i)
            r = c.request("PUT", ppath, body=policy.encode(),
                          headers={"Content-Type": "text/plain", "Authorization": auth})
            return r.status

        res.eq("4 bad tokens: all 401", [bad(i) for i in range(4)], [401] * 4)
        time.sleep(1.0)
        res.eq("below N (4 of 5): no alert posted", len(rcv.all()), 0)
        res.eq("3 more bad tokens: all 401", [bad(i) for i in range(4, 7)], [401] * 3)
        res.check("auth_failures alert delivered (after 2 refusals)", rcv.wait_delivered(1),
                  "posts: %r" % [(p[1], p[3][:80]) for p in rcv.all()])

        owner = idp.token(roles=["Attestation.Owner"], sub="alert-owner")
        r = c.request("PUT", ppath, body=policy.encode(),
                      headers={"Content-Type": "text/plain", "Authorization": "Bearer " + owner})
        res.eq("policy change by an Owner: 200", r.status, 200)
        res.check("policy_changed alert delivered", rcv.wait_delivered(2))
        time.sleep(1.0)  # anything else would arrive now

        posts = rcv.all()
        delivered = [json.loads(p[3]) for p in posts if p[1] == 200]
        res.eq("exactly 2 alerts delivered", len(delivered), 2)
        res.eq("4 POSTs in all (2 refused with 500, 2 delivered)",
               [p[1] for p in posts], [500, 500, 200, 200])
        res.eq("the retries carry the same alert", len({p[3] for p in posts[:3]}), 1)
        if len(posts) >= 3:
            gap1, gap2 = posts[1][0] - posts[0][0], posts[2][0] - posts[1][0]
            res.check("backoff: 1st retry after >= 0.5 s", 0.5 <= gap1 < 5, "%.3f" % gap1)
            res.check("backoff: 2nd retry after >= 1.0 s (doubled)", 1.0 <= gap2 < 8,
                      "%.3f" % gap2)
        res.check("every POST has the bearer token from the file",
                  all(p[2].get("authorization") == "Bearer " + HOOK_TOKEN for p in posts),
                  str([p[2].get("authorization") for p in posts]))
        res.check("every POST is JSON",
                  all(p[2].get("content-type") == "application/json" for p in posts))

        log = d.log()
        audits = [json.loads(x) for x in log.splitlines() if x.startswith('{"audit"')]
        unauth_src = {a.get("source") for a in audits if a.get("audit") == "unauthenticated"}
        res.eq("the 7 failures come from one source", len(unauth_src), 1)
        src = next(iter(unauth_src)) if unauth_src else None
        if len(delivered) == 2:
            a1, a2 = delivered
            res.eq("alert 1 rule", a1.get("rule"), "auth_failures")
            res.eq("alert 1 severity", a1.get("severity"), "warning")
            res.eq("alert 1 source = the audited source", a1.get("source"), src)
            res.check("alert 1 detail names the count and window",
                      "5 authentication failures within 60 s" in (a1.get("detail") or ""),
                      a1.get("detail"))
            res.check("alert 1 time is RFC 3339 UTC",
                      isinstance(a1.get("time"), str) and a1["time"].endswith("Z") and
                      abs(a1.get("time_unix", 0) - time.time()) < 120, str(a1))
            res.eq("alert 2 rule", a2.get("rule"), "policy_changed")
            res.eq("alert 2 provider", a2.get("provider"), "default")
            res.eq("alert 2 operation", a2.get("operation"), "policy.set")
            res.check("alert 2 principal is the Owner",
                      (a2.get("principal") or "").endswith("oid-alert-owner"), str(a2))
            res.eq("alert service field", a2.get("service"), "attestd")
        alert_ops = [a.get("operation") for a in audits if a.get("audit") == "alert"]
        res.eq("audit records of the firings", alert_ops,
               ["alert.auth_failures", "alert.policy_changed"])
        res.check("no webhook token and no bearer token in the log",
                  HOOK_TOKEN not in log and owner.split(".")[2] not in log)

        m = c.request("GET", "/metrics").body.decode()
        for line, want in (('attestd_alerts_fired_total{rule="auth_failures"} 1', True),
                           ('attestd_alerts_fired_total{rule="policy_changed"} 1', True),
                           ('attestd_alert_webhook_deliveries_total{outcome="delivered"} 2', True),
                           ('attestd_alert_webhook_deliveries_total{outcome="retry"} 2', True),
                           ('attestd_alert_webhook_deliveries_total{outcome="gave_up"}', False)):
            res.check("metrics: %s %s" % ("has" if want else "lacks", line),
                      (line in m.splitlines() if want else line not in m))
    finally:
        res.eq("SIGTERM: exit status 0", d.stop(), 0)
        rcv.stop()
        if res.failed:
            print("---- attestd stderr ----\n%s\n----" % d.log()[-6000:])

    # TLS is verified: without alert_webhook_ca the private CA is not trusted, so nothing
    # reaches the receiver and the attempt fails with a certificate error.
    rcv2 = Receiver(cert, key, fail=0)
    conf2 = os.path.join(work, "attestd2.conf")
    harness.write_conf(conf2, ["alert_policy_changed = on",
                               "alert_webhook_url = https://127.0.0.1:%d/hook" % rcv2.port], idp)
    d2 = harness.Daemon(build, os.path.join(work, "data2"), conf2)
    try:
        c2 = harness.Client(d2.start(), d2.ca)
        owner2 = idp.token(roles=["Attestation.Owner"], sub="alert-owner-2")
        policy = policy_jws(POLICY)
        r = c2.request("PUT", "/policies/SgxEnclave?" + API, body=policy.encode(),
                       headers={"Content-Type": "text/plain",
                                "Authorization": "Bearer " + owner2})
        res.eq("untrusted receiver: policy change 200", r.status, 200)
        end = time.monotonic() + 10
        while time.monotonic() < end and "alert webhook: attempt 1 failed" not in d2.log():
            time.sleep(0.05)
        line = [x for x in d2.log().splitlines() if "alert webhook: attempt 1 failed" in x]
        res.check("untrusted receiver: attempt fails on the certificate",
                  bool(line) and "certificate" in line[0].lower(), str(line))
        res.eq("untrusted receiver: no POST received", len(rcv2.all()), 0)
    finally:
        res.eq("SIGTERM (webhook still retrying): exit status 0", d2.stop(), 0)
        rcv2.stop()

    # Collateral expiry: synthetic collateral expires ~29 days from now (t0 = now - 1 day,
    # nextUpdate t0 + 30 days); with a 30-day threshold both bundles (sgx, tdx) fire at
    # start, once each; the webhook JSON names tee, FMSPC and CA.
    env = harness.setup_synthetic(build, os.path.join(work, "coll"))
    tcb = json.load(open(os.path.join(env["evidence"], "collateral-sgx", "tcb_info.json")))
    fmspc = tcb.get("tcbInfo", tcb)["fmspc"].lower()
    rcv3 = Receiver(cert, key, fail=0)
    with open(env["config"], "a") as f:
        f.write("alert_collateral_expiry_days = 30\nalert_webhook_url = https://127.0.0.1:%d/h\n"
                "alert_webhook_ca = %s\n" % (rcv3.port, ca))
    d3 = harness.Daemon(build, env["data_dir"], env["config"])
    try:
        d3.start()
        res.check("collateral_expiry: 2 alerts delivered", rcv3.wait_delivered(2),
                  str(rcv3.all()))
        time.sleep(0.5)
        got = [json.loads(p[3]) for p in rcv3.delivered()]
        res.eq("collateral_expiry: exactly 2 alerts", len(got), 2)
        res.eq("collateral_expiry: rules", {g.get("rule") for g in got}, {"collateral_expiry"})
        details = sorted(g.get("detail", "") for g in got)
        res.check("collateral_expiry: sgx bundle named with its FMSPC",
                  any(x.startswith("collateral tee=sgx fmspc=%s ca=" % fmspc) and
                      "(threshold 30 days)" in x for x in details), str(details))
        res.check("collateral_expiry: tdx bundle named",
                  any(x.startswith("collateral tee=tdx ") for x in details), str(details))
        res.eq("collateral_expiry: severity warning (not yet expired)",
               {g.get("severity") for g in got}, {"warning"})
    finally:
        res.eq("collateral daemon: SIGTERM exit status 0", d3.stop(), 0)
        rcv3.stop()

    # Negatives: refused configurations.
    bad_conf = os.path.join(work, "bad.conf")
    with open(bad_conf, "w") as f:
        f.write("alert_policy_changed = on\nalert_webhook_url = http://127.0.0.1:1/hook\n")
    rc, err = start_fails(build, data, bad_conf)
    res.check("http:// webhook URL refused", rc != 0 and "must start with https://" in err,
              "rc=%s %s" % (rc, err[-300:]))
    with open(bad_conf, "w") as f:
        f.write("alert_policy_changed = on\nalert_webhook_ca = %s\n" % ca)
    rc, err = start_fails(build, data, bad_conf)
    res.check("alert_webhook_ca without a URL refused",
              rc != 0 and "need alert_webhook_url" in err, "rc=%s %s" % (rc, err[-300:]))
    with open(bad_conf, "w") as f:
        f.write("alert_auth_failures = 0/60\n")
    rc, err = start_fails(build, data, bad_conf)
    res.check("alert_auth_failures = 0/60 refused", rc != 0 and "alert_auth_failures" in err,
              "rc=%s %s" % (rc, err[-300:]))


def main():
    args = harness.arg_parser().parse_args()
    if harness.find_tool("openssl", skip=harness.OPENSSL_MISSING) is None:
        return 0
    res = harness.Results()
    with harness.workdir("alerts", args.keep) as work:
        try:
            run(res, args.build_dir, work)
        except Exception as ex:
            res.crashed(ex, "harness")
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
