#!/usr/bin/env python3
"""Listeners, network access control and abuse limits through the real daemon (issue 6).

    python3 test_network.py --build-dir BUILD [--keep]

Linux routes all of 127.0.0.0/8 to lo, so a client socket bound to 127.0.0.2 is "another
host"; `treat_as_public = 127.0.0.2/32` declares it public for the daemon.

1. Source policy: 127.0.0.2 (declared public) is closed before the TLS handshake, logged
   and audited once; 127.0.0.1 is served; allowed_networks or public_network_access =
   enabled let 127.0.0.2 in.
2. A provider's allowed_networks (admin API) answers 403 to other sources on that
   provider only (data and management routes), and clears with null.
3. Start-up refusals: a public or wildcard bind while public access is disabled, listen
   and listener together, mtls without tls_client_ca.
4. Roles: management routes 404 on a data listener and vice versa; a Unix socket listener
   (plain HTTP, mode 0660); harness records ports by role; HSTS on HTTPS only.
5. Abuse limits: rate_limit_per_source and rate_limit_per_provider give 429 with
   Retry-After; auth_failure_limit throttles management calls after N bad tokens; a
   client dribbling its request head is cut after request_header_timeout_s.

Prints one line per check, then "N passed, M failed"; exits non-zero on any failure.
"""

import json
import os
import socket
import ssl
import stat
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from idp import TestIdP  # noqa: E402

OWNER = ["Attestation.Owner"]


def tls_refused(port, source, ca):
    """True when a TLS handshake from `source` fails (connection closed or reset)."""
    ctx = ssl.create_default_context(cafile=ca)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10,
                                      source_address=(source, 0)) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"GET /certs HTTP/1.1\r\nHost: localhost\r\n\r\n")
                s.recv(10)
                return False
    except (ssl.SSLError, ConnectionError, OSError):
        return True


class Env:
    def __init__(self, build, work):
        self.build = build
        self.work = work
        self.daemons = []
        self.idp = TestIdP(os.path.join(work, "idp"))

    def daemon(self, name, lines, listen="127.0.0.1:0", providers=(), start=True):
        data = os.path.join(self.work, name)
        os.makedirs(data, exist_ok=True)
        for p in providers:
            harness.attestctl(self.build, data, "provider", "create", p)
        conf = harness.write_conf(os.path.join(self.work, name + ".conf"), lines, self.idp)
        d = harness.Daemon(self.build, data, conf, listen=listen)
        self.daemons.append(d)
        if start:
            d.start()
        return d

    def stop_all(self):
        for d in self.daemons:
            d.stop()


def metric_value(client, name):
    """The value of an unlabelled metric in GET /metrics, or None."""
    r = client.get("/metrics")
    for ln in r.body.decode().splitlines() if r.status == 200 else []:
        if ln.startswith(name + " "):
            return float(ln.split()[1])
    return None


def count(d, needle):
    return sum(1 for ln in d.log().splitlines() if needle in ln)


def test_source_policy(env, R):
    d = env.daemon("acl", ["treat_as_public = 127.0.0.2/32"], providers=["p2"])
    ok = harness.Client(d.port, d.ca, source="127.0.0.1").get("/certs")
    R.check("acl: 127.0.0.1 (loopback) is served", ok.status == 200, repr(ok))
    refused = [tls_refused(d.port, "127.0.0.2", d.ca) for _ in range(3)]
    R.check("acl: 127.0.0.2 (treat_as_public) refused before the TLS handshake, 3 of 3",
            refused == [True, True, True], str(refused))
    time.sleep(0.3)
    R.check("acl: the refusal is logged once per source per minute (3 attempts, 1 line)",
            count(d, "refused connection from 127.0.0.2") == 1, d.log()[-2000:])
    audit = [ln for ln in d.log().splitlines() if '"network.refused"' in ln]
    R.check("acl: one audit record kind forbidden, operation network.refused, source 127.0.0.2",
            len(audit) == 1 and json.loads(audit[0]).get("audit") == "forbidden"
            and json.loads(audit[0]).get("source") == "127.0.0.2", str(audit))
    c3 = harness.Client(d.port, d.ca, source="127.0.0.3")
    R.check("acl: 127.0.0.3 (still loopback, not declared public) is served",
            c3.get("/certs").status == 200)
    m = metric_value(c3, "attestd_connections_refused_total")
    R.check("acl: /metrics counts the 3 refused connections", m == 3, str(m))

    # A provider's own allowed_networks narrows access to that provider only.
    owner = {"Authorization": "Bearer " + env.idp.token(OWNER, sub="net-owner")}
    c1 = harness.Client(d.port, d.ca, source="127.0.0.1")
    r = c1.request("PATCH", "/admin/providers/p2?api-version=2025-06-01",
                   body={"allowed_networks": "127.0.0.3/32, fd00::/8"}, headers=owner)
    R.check("provider acl: PATCH allowed_networks -> 200 and echoed",
            r.status == 200 and r.json.get("allowed_networks") == "127.0.0.3/32, fd00::/8",
            repr(r))
    r = c1.get("/providers/p2/certs")
    R.check("provider acl: p2 from 127.0.0.1 -> 403 Forbidden (MAA error body)",
            r.status == 403 and r.error_code() == "Forbidden", repr(r))
    r = c1.get("/providers/p2/policies/SgxEnclave?api-version=2020-10-01", headers=owner)
    R.check("provider acl: p2 management route from 127.0.0.1 -> 403",
            r.status == 403 and r.error_code() == "Forbidden", repr(r))
    R.check("provider acl: default provider from 127.0.0.1 still 200",
            c1.get("/certs").status == 200)
    R.check("provider acl: p2 from 127.0.0.3 -> 200", c3.get("/providers/p2/certs").status == 200)
    R.check("provider acl: refusal audited (network.provider_refused)",
            count(d, '"network.provider_refused"') >= 2)
    r = c1.request("PATCH", "/admin/providers/p2?api-version=2025-06-01",
                   body={"allowed_networks": "10.0.0.1/8"}, headers=owner)
    R.check("provider acl: host bits set -> 400 InvalidParameter",
            r.status == 400 and r.error_code() == "InvalidParameter", repr(r))
    r = c1.request("PATCH", "/admin/providers/p2?api-version=2025-06-01",
                   body={"allowed_networks": 5}, headers=owner)
    R.check("provider acl: wrong type -> 400", r.status == 400, repr(r))
    r = c1.get("/admin/providers/p2?api-version=2025-06-01", headers=owner)
    R.check("provider acl: GET shows the stored list",
            r.status == 200 and r.json.get("allowed_networks") == "127.0.0.3/32, fd00::/8",
            repr(r))
    r = c1.request("PATCH", "/admin/providers/p2?api-version=2025-06-01",
                   body={"allowed_networks": None}, headers=owner)
    R.check("provider acl: null clears it",
            r.status == 200 and r.json.get("allowed_networks") is None, repr(r))
    R.check("provider acl: p2 from 127.0.0.1 -> 200 again",
            c1.get("/providers/p2/certs").status == 200)
    r = c1.request("PUT", "/admin/providers/p3?api-version=2025-06-01",
                   body={"mode": "aad", "allowed_networks": "127.0.0.3"}, headers=owner)
    R.check("provider acl: PUT creates with allowed_networks (201)",
            r.status == 201 and r.json.get("allowed_networks") == "127.0.0.3", repr(r))
    R.check("provider acl: p3 from 127.0.0.1 -> 403",
            c1.get("/providers/p3/certs").status == 403)
    d.stop()

    d = env.daemon("acl-allowed", ["treat_as_public = 127.0.0.2/32",
                                   "allowed_networks = 127.0.0.2/32"])
    r2 = harness.Client(d.port, d.ca, source="127.0.0.2").get("/certs")
    r1 = harness.Client(d.port, d.ca, source="127.0.0.1").get("/certs")
    R.check("acl: allowed_networks = 127.0.0.2/32 -> both sources served",
            r1.status == 200 and r2.status == 200, "%r %r" % (r1, r2))
    d.stop()
    d = env.daemon("acl-public", ["treat_as_public = 127.0.0.2/32",
                                  "public_network_access = enabled"])
    r2 = harness.Client(d.port, d.ca, source="127.0.0.2").get("/certs")
    R.check("acl: public_network_access = enabled -> 127.0.0.2 served", r2.status == 200, repr(r2))
    d.stop()


def start_fails(env, name, lines, listen, needle):
    data = os.path.join(env.work, name)
    conf = harness.write_conf(os.path.join(env.work, name + ".conf"), lines)
    exe = harness.binary(env.build, "attestd")
    cmd = [exe, "--data-dir", data, "--config", conf]
    if listen:
        cmd += ["--listen", listen]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    chk = subprocess.run(cmd + ["--check-config"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=20)
    err = p.stderr.decode(errors="replace")
    return (p.returncode == 1 and needle in err and chk.returncode == 1
            and needle in chk.stderr.decode(errors="replace")), err


def test_start_refusals(env, R):
    msg = "while public_network_access = disabled"
    ok, err = start_fails(env, "bind0", ["listener = 0.0.0.0:0 data"], None, msg)
    R.check("start: listener = 0.0.0.0:0 while disabled -> exit 1 with message", ok, err)
    ok, err = start_fails(env, "bind1", [], "0.0.0.0:0", msg)
    R.check("start: --listen 0.0.0.0:0 while disabled -> exit 1", ok, err)
    ok, err = start_fails(env, "bind2", ["listener = [::]:0 data"], None, msg)
    R.check("start: listener = [::]:0 while disabled -> exit 1", ok, err)
    ok, err = start_fails(env, "bind3", ["treat_as_public = 127.0.0.2/32",
                                         "listener = 127.0.0.2:0 data"], None, msg)
    R.check("start: binding a treat_as_public address -> exit 1", ok, err)
    ok, err = start_fails(env, "bind4", ["listener = 127.0.0.1:0 data"], "127.0.0.1:0",
                          "exclusive")
    R.check("start: listen and listener together -> exit 1", ok, err)
    ok, err = start_fails(env, "bind5", ["listener = 127.0.0.1:0 management mtls"], None,
                          "tls_client_ca is not set")
    R.check("start: mtls without tls_client_ca -> exit 1", ok, err)
    ok, err = start_fails(env, "bind6", ["listener = 127.0.0.1:0 admin"], None, "unknown role")
    R.check("start: unknown role -> exit 1", ok, err)


def test_roles(env, R):
    sock = os.path.join(env.work, "attestd.sock")
    d = env.daemon("roles", ["listener = 127.0.0.1:0 data",
                             "listener = 127.0.0.1:0 management",
                             "listener = 127.0.0.1:0 metrics",
                             "listener = unix:%s data,management" % sock], listen=None)
    end = time.time() + 10  # the reader thread may not have seen the later lines yet
    while time.time() < end and d.log().count("attestd: listening on ") < 4:
        time.sleep(0.05)
    first = [ln for ln in d.log().splitlines() if ln.startswith("attestd: listening on ")]
    R.check("roles: first ready line exact, others with (roles)",
            first[:3] == ["attestd: listening on https://127.0.0.1:%d" % d.ports["data"],
                          "attestd: listening on https://127.0.0.1:%d (management)"
                          % d.ports["management"],
                          "attestd: listening on https://127.0.0.1:%d (metrics)"
                          % d.ports["metrics"]], str(first))
    R.check("roles: harness records one port per role",
            d.port == d.ports["data"] and len({d.ports["data"], d.ports["management"],
                                               d.ports["metrics"]}) == 3, str(d.ports))
    data = harness.Client(d.ports["data"], d.ca)
    mgmt = harness.Client(d.ports["management"], d.ca)
    metrics = harness.Client(d.ports["metrics"], d.ca)
    tok = {"Authorization": "Bearer " + env.idp.token(OWNER, sub="roles-owner")}
    r = data.get("/certs")
    R.check("roles: data listener serves /certs with HSTS max-age=31536000",
            r.status == 200 and r.headers.get("strict-transport-security") == "max-age=31536000",
            repr(r))
    for path in ("/admin/providers?api-version=2025-06-01",
                 "/policies/SgxEnclave?api-version=2020-10-01", "/certificates"):
        r = data.get(path, headers=tok)
        R.check("roles: data listener %s -> 404 NotFound" % path.split("?")[0],
                r.status == 404 and r.error_code() == "NotFound", repr(r))
    r = mgmt.get("/admin/providers?api-version=2025-06-01", headers=tok)
    R.check("roles: management listener /admin/providers -> 200", r.status == 200, repr(r))
    for path in ("/certs", "/.well-known/openid-configuration"):
        r = mgmt.get(path)
        R.check("roles: management listener %s -> 404 (HSTS still set)" % path,
                r.status == 404 and "strict-transport-security" in r.headers, repr(r))
    r = mgmt.post("/attest/SgxEnclave?api-version=2022-08-01", {"quote": "AA"})
    R.check("roles: management listener POST /attest -> 404", r.status == 404, repr(r))
    r = metrics.get("/certs")
    R.check("roles: metrics listener /certs -> 404", r.status == 404, repr(r))
    R.check("roles: unix socket exists with mode 0660",
            stat.S_IMODE(os.stat(sock).st_mode) == 0o660 and stat.S_ISSOCK(os.stat(sock).st_mode),
            oct(os.stat(sock).st_mode))
    u = harness.UnixClient(sock)
    r = u.get("/certs")
    R.check("roles: unix socket /certs -> 200, plain HTTP without HSTS",
            r.status == 200 and "strict-transport-security" not in r.headers
            and len(r.json["keys"]) >= 1, repr(r))
    r = u.get("/admin/providers?api-version=2025-06-01", headers=tok)
    R.check("roles: unix socket management -> 200", r.status == 200, repr(r))
    d.stop()
    R.check("roles: unix socket removed at stop", not os.path.exists(sock))

    # IPv6 loopback: ::1 is private and served; declared public it cannot be bound.
    if socket.has_ipv6:
        d = env.daemon("v6", ["listener = [::1]:0 data"], listen=None)
        m = [ln for ln in d.log().splitlines() if ln.startswith("attestd: listening on ")]
        r = harness.Client(d.port, d.ca, host="::1").get("/certs") if d.port else None
        R.check("ipv6: listener [::1]:0 serves ::1 (ready line https://[::1]:PORT)",
                r is not None and r.status == 200 and m[0] == "attestd: listening on "
                "https://[::1]:%d" % d.port, "%r %s" % (r, m))
        d.stop()
        ok, err = start_fails(env, "v6pub2", ["listener = [::1]:0 data",
                                              "treat_as_public = ::1/128"], None,
                              "while public_network_access = disabled")
        R.check("ipv6: binding ::1 declared public is refused at start", ok, err)


def test_limits(env, R):
    # threads = 2: the epoll worker pool (the other daemons here run a thread per connection).
    d = env.daemon("limits", ["threads = 2", "rate_limit_per_source = 1/10", "hsts_max_age_s = 0",
                              "auth_failure_limit = 3/60/30", "request_header_timeout_s = 2"])
    c = harness.Client(d.port, d.ca, source="127.0.0.5")
    conn = c.connection()
    statuses = [c.get("/certs", conn=conn) for _ in range(14)]
    codes = [r.status for r in statuses]
    limited = [r for r in statuses if r.status == 429]
    R.check("limits: burst 10 at 1/s -> first 10 served, then 429",
            codes[:10] == [200] * 10 and len(limited) >= 3, str(codes))
    ra = limited[0].headers.get("retry-after", "") if limited else ""
    R.check("limits: 429 has Retry-After >= 1 and TooManyRequests body",
            ra.isdigit() and int(ra) >= 1 and limited[0].error_code() == "TooManyRequests",
            repr(limited[:1]) + ra)
    R.check("limits: hsts_max_age_s = 0 -> no HSTS header",
            "strict-transport-security" not in statuses[0].headers)
    r = harness.Client(d.port, d.ca, source="127.0.0.6").get("/certs")
    R.check("limits: another source is not affected", r.status == 200, repr(r))
    time.sleep(1.2)
    R.check("limits: bucket refills (1/s)", c.get("/certs").status == 200)
    u = harness.Client(d.port, d.ca, source="127.0.0.11")
    uconn = u.connection()
    codes = [u.get("/no/such/path", conn=uconn).status for _ in range(13)]
    R.check("limits: unknown paths count too (10 x 404, then 429)",
            codes[:10] == [404] * 10 and codes[10] == 429 and codes.count(429) >= 2, str(codes))
    m = metric_value(harness.Client(d.port, d.ca, source="127.0.0.12"),
                     "attestd_requests_throttled_total")
    R.check("limits: /metrics counts every 429 so far", m == len(limited) + codes.count(429),
            "%s != %d + %d" % (m, len(limited), codes.count(429)))

    # Authentication failures: 3 bad tokens from 127.0.0.7, then even a good one gets 429.
    a = harness.Client(d.port, d.ca, source="127.0.0.7")
    bad = {"Authorization": "Bearer " + env.idp.token(OWNER, key=env.idp.rogue_key)}
    good = {"Authorization": "Bearer " + env.idp.token(OWNER, sub="limits-owner")}
    path = "/admin/providers?api-version=2025-06-01"
    first = [a.get(path, headers=bad).status for _ in range(3)]
    time.sleep(0.25)  # stay under rate_limit_per_source
    r = a.get(path, headers=good)
    R.check("limits: 3 bad tokens -> 401 x3, then 429 with Retry-After (cool-down 30 s)",
            first == [401, 401, 401] and r.status == 429
            and r.headers.get("retry-after", "").isdigit()
            and 1 <= int(r.headers["retry-after"]) <= 30, "%s %r" % (first, r))
    r = a.get("/certs")
    R.check("limits: the throttled source still reaches the data plane", r.status == 200, repr(r))
    r = harness.Client(d.port, d.ca, source="127.0.0.8").get(path, headers=good)
    R.check("limits: other sources still authenticate", r.status == 200, repr(r))

    # Slow clients: the request head must arrive within request_header_timeout_s = 2.
    ctx = ssl.create_default_context(cafile=d.ca)
    raw = socket.create_connection(("127.0.0.1", d.port), timeout=10,
                                   source_address=("127.0.0.9", 0))
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    t0 = time.monotonic()
    cut = False
    try:
        for ch in b"GET /certs HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 40:
            s.send(bytes([ch]))
            time.sleep(0.2)
    except (OSError, ssl.SSLError):
        cut = True
    if not cut:
        try:
            cut = s.recv(100) == b""
        except (OSError, ssl.SSLError):
            cut = True
    took = time.monotonic() - t0
    s.close()
    R.check("limits: a client dribbling its request head is cut after ~2 s",
            cut and 1.5 <= took <= 5.0, "cut=%s took=%.1f" % (cut, took))
    raw = socket.create_connection(("127.0.0.1", d.port), timeout=10,
                                   source_address=("127.0.0.10", 0))
    t0 = time.monotonic()
    try:
        got = raw.recv(10)  # never start TLS: the server must hang up
    except OSError:
        got = b""
    took = time.monotonic() - t0
    raw.close()
    R.check("limits: a silent TCP client (no handshake) is cut after ~2 s",
            got == b"" and took <= 5.0, "took=%.1f" % took)
    d.stop()

    d = env.daemon("plimits", ["rate_limit_per_provider = 1/4",
                               "max_connections_per_source = 2"], providers=["p2"])
    ctx = ssl.create_default_context(cafile=d.ca)

    def tls_open(src):
        raw = socket.create_connection(("127.0.0.1", d.port), timeout=5,
                                       source_address=(src, 0))
        try:
            s = ctx.wrap_socket(raw, server_hostname="localhost")
            s.sendall(b"GET /certs HTTP/1.1\r\nHost: localhost\r\n\r\n")
            s.settimeout(5)
            if not s.recv(12).startswith(b"HTTP/1.1 200"):
                raise ConnectionError("no answer")
            return s
        except (ssl.SSLError, OSError):
            raw.close()
            return None

    held = [tls_open("127.0.0.12"), tls_open("127.0.0.12")]
    third = tls_open("127.0.0.12")
    other = tls_open("127.0.0.13")
    R.check("limits: max_connections_per_source = 2 -> a third concurrent connection is "
            "closed, another source is served",
            all(h is not None for h in held) and third is None and other is not None,
            "%r %r %r" % (held, third, other))
    for h in held + [third, other]:
        if h is not None:
            h.close()
    c = harness.Client(d.port, d.ca)
    conn = c.connection()
    codes = [c.get("/providers/p2/certs", conn=conn).status for _ in range(6)]
    R.check("limits: rate_limit_per_provider 1/4 -> 4 served then 429", codes[:4] == [200] * 4
            and codes[4] == 429 and codes.count(429) >= 1, str(codes))
    R.check("limits: the default provider has its own bucket",
            c.get("/certs").status == 200)
    d.stop()


def main():
    a = harness.arg_parser().parse_args()
    R = harness.Results()
    with harness.workdir("net", a.keep) as work:
        env = Env(os.path.abspath(a.build_dir), work)
        try:
            test_source_policy(env, R)
            test_start_refusals(env, R)
            test_roles(env, R)
            test_limits(env, R)
        except Exception as ex:  # noqa: BLE001 - report, then fail
            R.crashed(ex)
            for d in env.daemons:
                print(d.log()[-3000:])
        finally:
            env.stop_all()
    return R.summary()


if __name__ == "__main__":
    sys.exit(main())
