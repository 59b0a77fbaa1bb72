#!/usr/bin/env python3
"""TLS policy, certificate reload on SIGHUP and client certificates (issue 6).

    python3 test_tls.py --build-dir BUILD [--keep]

1. Protocols and ciphers with `openssl s_client`: TLS 1.1 fails, 1.2 and 1.3 succeed;
   CBC (ECDHE-ECDSA-AES128-SHA, AES128-SHA) and non-forward-secret (AES256-GCM-SHA384)
   suites fail with TLS 1.2; the negotiated 1.2 suite is ECDHE + AEAD.
2. SIGHUP with a new certificate: a connection opened before keeps working, new
   connections get the new certificate (SHA-256 fingerprints); a broken new pair
   (key of another certificate) is refused with a log line and the current pair stays.
3. mTLS on a management listener (`mtls`, `tls_client_ca`): without a client
   certificate or with one from another CA -> refused (401 or failed handshake); with
   the right one -> the bearer token is still required (401 without, 200 with). The data
   listener of the same daemon asks for nothing.

Prints one line per check, then "N passed, M failed"; exits non-zero on any failure.
"""

import hashlib
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from idp import TestIdP, openssl  # noqa: E402


def s_client(port, *args):
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                        "-servername", "localhost"] + list(args),
                       input=b"", stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    out = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
    cipher = ""
    proto = ""
    for ln in out.splitlines():
        ln = ln.strip()
        if ln.startswith("New, ") and "Cipher is " in ln:
            proto = ln.split(",")[1].strip()
            cipher = ln.split("Cipher is ")[1].strip()
            continue
        if ln.startswith("Cipher is ") or ln.startswith("Cipher    :"):
            cipher = ln.split(":")[-1].strip() if ":" in ln else ln.split()[-1]
        if (ln.startswith("Protocol  :") or ln.startswith("Protocol:")) and not proto:
            proto = ln.split(":")[-1].strip()
    handshake = p.returncode == 0 and cipher not in ("", "0000", "(NONE)")
    return handshake, proto, cipher, out


def make_cert(work, name, ca=None, client=False):
    key = os.path.join(work, name + "-key.pem")
    crt = os.path.join(work, name + ".pem")
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
    ext = os.path.join(work, name + ".ext")
    with open(ext, "w") as f:
        if client:
            f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
        elif ca is None and name.endswith("ca"):
            f.write("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
        else:
            f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                    "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    csr = os.path.join(work, name + ".csr")
    openssl("req", "-new", "-key", key, "-subj", "/CN=%s" % name, "-out", csr)
    if ca is None:
        openssl("x509", "-req", "-in", csr, "-signkey", key, "-days", "2", "-sha256",
                "-extfile", ext, "-out", crt)
    else:
        openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
                "-days", "2", "-sha256", "-extfile", ext, "-out", crt)
    return crt, key


def fingerprint_pem(path):
    der = openssl("x509", "-in", path, "-outform", "DER")
    return hashlib.sha256(der).hexdigest()


def wait_log(d, needle, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if needle in d.log():
            return True
        time.sleep(0.1)
    return False


def test_protocols(build, work, R):
    data = os.path.join(work, "proto")
    d = harness.Daemon(build, data)
    d.start()
    try:
        ok, proto, cipher, out = s_client(d.port, "-tls1_1", "-cipher", "ALL:@SECLEVEL=0")
        R.check("tls: -tls1_1 fails", not ok, out[-400:])
        ok, proto, cipher, out = s_client(d.port, "-tls1")
        R.check("tls: -tls1 fails", not ok, out[-400:])
        ok, proto, cipher, out = s_client(d.port, "-tls1_2")
        R.check("tls: -tls1_2 succeeds with an ECDHE AEAD suite",
                ok and proto == "TLSv1.2" and cipher.startswith("ECDHE-")
                and ("GCM" in cipher or "CHACHA20" in cipher), "%s %s" % (proto, cipher))
        ok, proto, cipher, out = s_client(d.port, "-tls1_3")
        R.check("tls: -tls1_3 succeeds", ok and proto == "TLSv1.3"
                and cipher in ("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
                               "TLS_CHACHA20_POLY1305_SHA256"), "%s %s" % (proto, cipher))
        for suite in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "AES128-SHA",
                      "AES256-GCM-SHA384", "AES128-GCM-SHA256", "DHE-RSA-AES128-GCM-SHA256"):
            ok, proto, cipher, out = s_client(d.port, "-tls1_2", "-cipher", suite)
            R.check("tls: -tls1_2 -cipher %s (CBC or no forward secrecy) fails" % suite, not ok,
                    "%s %s" % (proto, cipher))
        r = harness.Client(d.port, d.ca).get("/certs")
        R.check("tls: HSTS header on HTTPS answers",
                r.headers.get("strict-transport-security") == "max-age=31536000", repr(r))
    finally:
        d.stop()


def test_reload(build, work, R):
    c1, k1 = make_cert(work, "srv1")
    c2, k2 = make_cert(work, "srv2")
    c3, k3 = make_cert(work, "srv3")
    bundle = os.path.join(work, "bundle.pem")
    with open(bundle, "w") as f:
        for c in (c1, c2):
            f.write(open(c).read())
    live_c = os.path.join(work, "live-cert.pem")
    live_k = os.path.join(work, "live-key.pem")
    shutil.copy(c1, live_c)
    shutil.copy(k1, live_k)
    d = harness.Daemon(build, os.path.join(work, "reload"),
                       extra=["--tls-cert", live_c, "--tls-key", live_k])
    d.start()
    try:
        cl = harness.Client(d.port, bundle)
        conn = cl.connection()
        r = cl.get("/certs", conn=conn)
        fp_before = hashlib.sha256(conn.sock.getpeercert(True)).hexdigest()
        R.check("reload: first connection gets certificate 1",
                r.status == 200 and fp_before == fingerprint_pem(c1))
        shutil.copy(c2, live_c)
        shutil.copy(k2, live_k)
        d.proc.send_signal(signal.SIGHUP)
        R.check("reload: SIGHUP logs the reload", wait_log(d, "TLS certificate reloaded"))
        sock_before = conn.sock
        r = cl.get("/certs", conn=conn)
        R.check("reload: the connection opened before keeps working (same socket)",
                r.status == 200 and conn.sock is sock_before, repr(r))
        conn.close()
        conn2 = cl.connection()
        r = cl.get("/certs", conn=conn2)
        fp_after = hashlib.sha256(conn2.sock.getpeercert(True)).hexdigest()
        conn2.close()
        R.check("reload: a new connection gets certificate 2",
                r.status == 200 and fp_after == fingerprint_pem(c2), fp_after)
        # A broken pair: certificate 3 with the key of certificate 2.
        shutil.copy(c3, live_c)
        d.proc.send_signal(signal.SIGHUP)
        R.check("reload: a mismatched pair is refused with a log line",
                wait_log(d, "TLS reload refused"), d.log()[-1500:])
        conn3 = cl.connection()
        r = cl.get("/certs", conn=conn3)
        fp3 = hashlib.sha256(conn3.sock.getpeercert(True)).hexdigest()
        conn3.close()
        R.check("reload: certificate 2 stays in service", r.status == 200
                and fp3 == fingerprint_pem(c2), fp3)
        with open(live_c, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
        n = d.log().count("TLS reload refused")
        d.proc.send_signal(signal.SIGHUP)
        end = time.time() + 10
        while time.time() < end and d.log().count("TLS reload refused") == n:
            time.sleep(0.1)
        r = cl.get("/certs")
        R.check("reload: a garbage certificate is refused, service continues",
                d.log().count("TLS reload refused") == n + 1 and r.status == 200)
    finally:
        d.stop()


def test_mtls(build, work, R):
    ca = make_cert(work, "clientca")
    good = make_cert(work, "client-good", ca=ca, client=True)
    other_ca = make_cert(work, "otherca")
    bad = make_cert(work, "client-bad", ca=other_ca, client=True)
    idp = TestIdP(os.path.join(work, "idp"))
    conf = os.path.join(work, "mtls.conf")
    harness.write_conf(conf, ["tls_client_ca = %s" % ca[0], "listener = 127.0.0.1:0 data",
                              "listener = 127.0.0.1:0 management mtls"], idp)
    d = harness.Daemon(build, os.path.join(work, "mtls"), conf, listen=None)
    d.start()
    try:
        path = "/admin/providers?api-version=2025-06-01"
        tok = {"Authorization": "Bearer " + idp.token(["Attestation.Owner"], sub="mtls")}

        def attempt(cert, headers=None):
            try:
                return harness.Client(d.ports["management"], d.ca, cert=cert).get(
                    path, headers=headers)
            except (ssl.SSLError, ConnectionError, OSError) as ex:
                return ex

        r = attempt(None, tok)
        R.check("mtls: no client certificate -> refused (401 naming the certificate)",
                isinstance(r, Exception) or (r.status == 401 and "client certificate"
                                             in (r.error_message() or "")), repr(r))
        r = attempt(bad, tok)
        R.check("mtls: certificate from another CA -> refused",
                isinstance(r, Exception) or (r.status == 401 and "client certificate"
                                             in (r.error_message() or "")), repr(r))
        r = attempt(good)
        R.check("mtls: right certificate, no bearer token -> 401 (token still required)",
                not isinstance(r, Exception) and r.status == 401
                and "client certificate" not in (r.error_message() or ""), repr(r))
        r = attempt(good, tok)
        R.check("mtls: right certificate + token -> 200",
                not isinstance(r, Exception) and r.status == 200, repr(r))
        r = harness.Client(d.ports["data"], d.ca).get("/certs")
        R.check("mtls: the data listener needs no client certificate", r.status == 200, repr(r))
        R.check("mtls: refusals audited as unauthenticated tls.client_certificate",
                d.log().count('"tls.client_certificate"') >= 2)
    finally:
        d.stop()


def main():
    a = harness.arg_parser().parse_args()
    build = os.path.abspath(a.build_dir)
    R = harness.Results()
    with harness.workdir("tls", a.keep) as work:
        try:
            test_protocols(build, work, R)
            test_reload(build, work, R)
            test_mtls(build, work, R)
        except Exception as ex:  # noqa: BLE001
            R.crashed(ex)
    return R.summary()


if __name__ == "__main__":
    sys.exit(main())
