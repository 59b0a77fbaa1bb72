#!/usr/bin/env python3
"""Shared helpers for the attestd integration, SDK and HTTP benchmark tests.

Standard library only. Used as a module by test_server.py and as a command by
tests/sdk/run.sh and bench/bench_http.sh:

    python3 harness.py serve --build-dir BUILD --workdir DIR [--providers p2,p3]

sets up synthetic evidence (gen_evidence), a data dir with the collateral
imported, a config pinning the test root, starts attestd on 127.0.0.1:0 with
--fixed-time = t0 + 1 day (t0 = now - 1 day, so tokens are valid by the real
clock too), prints ONE JSON line to stdout:

    {"port": N, "base": "https://localhost:N", "ca": ".../tls/cert.pem",
     "evidence": DIR, "data_dir": DIR, "fixed_time": EPOCH, "pid": PID}

then waits for SIGTERM/SIGINT (or EOF on stdin with --stdin-eof), stops the
daemon with SIGTERM and exits with the daemon's exit status.
"""

import argparse
import base64
import contextlib
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback

# Encryption at rest: every attestd and attestctl started by this test process (and
# by tests that import this module) shares one random key-encryption key.
if not os.environ.get("ATTESTD_KEK"):
    os.environ["ATTESTD_KEK"] = os.urandom(32).hex()

READY_RE = re.compile(r"attestd: listening on https://([^\s:/]+|\[[^\]]+\]):(\d+)")
# "attestd: info: listener N: https://HOST:PORT roles=R[ mtls]" (or http+unix://PATH), logged
# for every listener before the first READY_RE line.
LISTENER_RE = re.compile(r"listener \d+: (https://([^\s:/]+|\[[^\]]+\]):(\d+)|http\+unix://(\S+))"
                         r" roles=(\S+)")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(s):
    if isinstance(s, str):
        s = s.encode("ascii")
    return base64.urlsafe_b64decode(s + b"=" * (-len(s) % 4))


def rfc3339(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def parse_rfc3339(s):
    import calendar
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def policy_hash(text):
    """x-ms-policy-hash: b64url(SHA-256(UTF-8(b64url(UTF-8(policy text)))))."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    return b64url(hashlib.sha256(b64url(text).encode("ascii")).digest())


def binary(build_dir, name):
    for cand in (os.path.join(build_dir, name), os.path.join(build_dir, "bin", name)):
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


def run(cmd, check=True, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("command failed (%d): %s\nstdout: %s\nstderr: %s" % (
            p.returncode, " ".join(cmd), p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace")))
    return p


def gen_evidence(build_dir, outdir, t0=None):
    tool = binary(build_dir, "gen_evidence")
    if tool is None:
        raise RuntimeError("gen_evidence not built in %s" % build_dir)
    cmd = [tool, outdir]
    if t0 is not None:
        cmd += ["--t0", str(int(t0))]
    run(cmd)
    with open(os.path.join(outdir, "expected.json")) as f:
        return json.load(f)


def read(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


class Daemon:
    """One attestd process; stderr is collected for diagnostics."""

    def __init__(self, build_dir, data_dir, config=None, fixed_time=None, extra=None,
                 listen="127.0.0.1:0"):
        """listen=None leaves the listeners to the config file's `listener` lines."""
        self.exe = binary(build_dir, "attestd")
        if self.exe is None:
            raise RuntimeError("attestd not built in %s" % build_dir)
        self.data_dir = data_dir
        self.cmd = [self.exe, "--data-dir", data_dir]
        if listen is not None:
            self.cmd += ["--listen", listen]
        if config:
            self.cmd += ["--config", config]
        if fixed_time is not None:
            self.cmd += ["--fixed-time", fixed_time if isinstance(fixed_time, str)
                         else rfc3339(fixed_time)]
        self.cmd += extra or []
        # Every daemon's stderr is also kept in BUILD/test-logs/<test>-<pid>.log, so
        # test_log_hygiene.py can scan what every earlier test made the daemon log.
        self.log_dir = os.path.join(os.path.abspath(build_dir), "test-logs")
        self.log_path = None
        self.proc = None
        self.port = None
        self.ports = {}  # role -> TCP port of the first listener with that role
        self.unix = {}   # role -> Unix socket path
        self.lines = []
        self._ready = threading.Event()
        self._lock = threading.Lock()

    @property
    def ca(self):
        return os.path.join(self.data_dir, "tls", "cert.pem")

    def _reader(self):
        try:
            os.makedirs(self.log_dir, exist_ok=True)
            test = os.path.splitext(os.path.basename(sys.argv[0] or "test"))[0]
            self.log_path = os.path.join(self.log_dir, "%s-%d.log" % (test, self.proc.pid))
            sink = open(self.log_path, "ab")
        except OSError:
            sink = None
        for raw in iter(self.proc.stderr.readline, b""):
            if sink is not None:
                sink.write(raw)
                sink.flush()
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            with self._lock:
                self.lines.append(line)
            lm = LISTENER_RE.search(line)
            if lm and not self._ready.is_set():
                for role in lm.group(5).split(","):
                    if lm.group(4):
                        self.unix.setdefault(role, lm.group(4))
                    else:
                        self.ports.setdefault(role, int(lm.group(3)))
            m = READY_RE.search(line)
            if m and not self._ready.is_set():
                self.port = int(m.group(2))
                self._ready.set()
        if sink is not None:
            sink.close()
        self._ready.set()

    def start(self, timeout=30):
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._thread = threading.Thread(target=self._reader, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self.port is None:
            rc = self.proc.poll()
            self.kill()
            raise RuntimeError("attestd did not become ready (rc=%s): %s\n%s" % (
                rc, " ".join(self.cmd), self.log()))
        return self.port

    def log(self):
        with self._lock:
            return "\n".join(self.lines)

    def stop(self, timeout=25):
        """SIGTERM and wait; returns the exit status (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        self._thread.join(5)
        return self.proc.returncode

    def restart(self, timeout=30):
        """Stop (SIGTERM) and start again with the same arguments; returns the exit status."""
        rc = self.stop()
        self.proc = None
        self.port = None
        self.ports = {}
        self.unix = {}
        self._ready = threading.Event()
        self.start(timeout)
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except (ValueError, UnicodeDecodeError):
            self.json = None

    def error_code(self):
        try:
            return self.json["error"]["code"]
        except (TypeError, KeyError):
            return None

    def error_message(self):
        try:
            return self.json["error"]["message"]
        except (TypeError, KeyError):
            return None

    def __repr__(self):
        return "HTTP %d %s" % (self.status, self.body[:400].decode("utf-8", errors="replace"))


class Client:
    """HTTPS client verifying the server certificate against `ca` for host `localhost`."""

    def __init__(self, port, ca, host="localhost", timeout=30, source=None, cert=None):
        """source: local address to bind (e.g. "127.0.0.2"); cert: (cert.pem, key.pem)."""
        self.port = port
        self.host = host
        self.timeout = timeout
        self.source = (source, 0) if source else None
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ctx.check_hostname = True
        self.ctx.verify_mode = ssl.CERT_REQUIRED
        if cert:
            self.ctx.load_cert_chain(cert[0], cert[1])
        self.base = "https://%s:%d" % (host, port)

    def connection(self):
        return http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                           timeout=self.timeout, source_address=self.source)

    def request(self, method, path, body=None, headers=None, conn=None):
        own = conn is None
        if own:
            conn = self.connection()
        hdrs = {"Accept": "application/json"}
        if body is not None:
            if not isinstance(body, (bytes, bytearray)):
                body = json.dumps(body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        try:
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            if own:
                conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body=body, **kw)


class UnixConnection(http.client.HTTPConnection):
    """Plain HTTP over a Unix socket (attestd's `listener = unix:PATH ...`)."""

    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        import socket
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class UnixClient(Client):
    """Client over a Unix socket: same request helpers, no TLS."""

    def __init__(self, path, timeout=30):
        self.path = path
        self.timeout = timeout
        self.base = "http+unix://" + path

    def connection(self):
        return UnixConnection(self.path, self.timeout)


def attestctl(build_dir, data_dir, *args, check=True):
    exe = binary(build_dir, "attestctl")
    if exe is None:
        raise RuntimeError("attestctl not built in %s" % build_dir)
    return run([exe, "--data-dir", data_dir] + list(args), check=check)


def setup_synthetic(build_dir, workdir, providers=(), t0=None):
    """Evidence + data dir + config; returns a dict describing them (daemon not started)."""
    if t0 is None:
        t0 = int(time.time()) - 86400
    evdir = os.path.join(workdir, "evidence")
    data_dir = os.path.join(workdir, "data")
    os.makedirs(evdir, exist_ok=True)
    os.makedirs(data_dir, exist_ok=True)
    expected = gen_evidence(build_dir, evdir, t0)
    attestctl(build_dir, data_dir, "collateral", "import", os.path.join(evdir, "collateral-sgx"))
    attestctl(build_dir, data_dir, "collateral", "import", os.path.join(evdir, "collateral-tdx"))
    for name in providers:
        attestctl(build_dir, data_dir, "provider", "create", name)
    config = os.path.join(workdir, "attestd.conf")
    with open(config, "w") as f:
        f.write("# integration test config\nsgx_root_ca = %s\n" % os.path.join(evdir, "root.pem"))
    return {
        "evidence": evdir,
        "data_dir": data_dir,
        "config": config,
        "expected": expected,
        "t0": expected["t0"],
        "fixed_time": expected["t0"] + 86400,
    }


def vectors_dir():
    """The shared real vectors: $ATTESTD_VECTORS or <repo>/../shared/vectors."""
    env = os.environ.get("ATTESTD_VECTORS")
    if env:
        return env
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(os.path.dirname(repo), "shared", "vectors")


def setup_vector(build_dir, workdir, name):
    """A data dir holding a real vector's collateral; replayed at its meta.json verify_at."""
    vdir = os.path.join(vectors_dir(), name)
    meta = json.load(open(os.path.join(vdir, "meta.json")))
    data_dir = os.path.join(workdir, "data")
    os.makedirs(data_dir, exist_ok=True)
    attestctl(build_dir, data_dir, "collateral", "import", os.path.join(vdir, "collateral"))
    at = meta["verification"]["verify_at"]
    return {"evidence": vdir, "data_dir": data_dir, "config": None,
            "fixed_time": at, "meta": os.path.join(vdir, "meta.json")}

# ---- Scaffolding shared by the integration tests (tests/integration/test_*.py) ----

class Results:
    """The PASS/FAIL lines, counters and closing summary of one integration test.

    check() prints "PASS name" or "FAIL name[: detail]" (detail cut to detail_max characters
    when given) and returns whether it passed; eq() checks got == want; skip() prints
    "SKIPPED name: why"; crashed() turns an exception into one failure with its cause;
    summary() prints "N passed, M failed[, K skipped]" (with list_failures, the failed
    names first) and returns the exit status: 1 when any check failed, else 0.
    """

    def __init__(self, detail_max=None, list_failures=False, verbose=False):
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.failures = []
        self.detail_max = detail_max
        self.list_failures = list_failures
        self.verbose = verbose

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("PASS %s" % name)
        else:
            self.failed += 1
            self.failures.append(name)
            detail = str(detail)
            if self.detail_max is not None:
                detail = detail[:self.detail_max]
            print("FAIL %s%s" % (name, ": " + detail if detail else ""))
        sys.stdout.flush()
        return bool(ok)

    def eq(self, name, got, want):
        return self.check(name, got == want, "got %r, want %r" % (got, want))

    def skip(self, name, why):
        self.skipped += 1
        print("SKIPPED %s: %s" % (name, why))
        sys.stdout.flush()

    def info(self, text):
        print("INFO %s" % text)
        sys.stdout.flush()

    def crashed(self, ex, name="no exception"):
        """A crash is one failure with its cause (the traceback goes to stderr)."""
        traceback.print_exc()
        return self.check(name, False, "%s: %s" % (type(ex).__name__, ex))

    def summary(self, started=None):
        if self.list_failures and self.failures:
            print("failed checks:\n  " + "\n  ".join(self.failures))
        if started is not None:
            print("elapsed %.1f s" % (time.time() - started))
        print("%d passed, %d failed%s" % (self.passed, self.failed,
                                          ", %d skipped" % self.skipped if self.skipped else ""))
        sys.stdout.flush()
        return 1 if self.failed else 0


def arg_parser():
    """The options every integration test takes: --build-dir BUILD and --keep."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return ap


@contextlib.contextmanager
def workdir(name, keep=False):
    """A fresh /tmp/attestd-NAME-* directory, removed afterwards unless keep ("kept DIR")."""
    work = tempfile.mkdtemp(prefix="attestd-%s-" % name)
    try:
        yield work
    finally:
        if keep:
            print("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def find_tool(*names, skip=None):
    """Path of the first of `names` on PATH; None when there is none, after printing
    "SKIPPED: <skip>" when skip is given (the caller picks the exit status)."""
    for name in names:
        path = shutil.which(name)
        if path is not None:
            return path
    if skip is not None:
        print("SKIPPED: %s" % skip)
        sys.stdout.flush()
    return None


OPENSSL_MISSING = "openssl command line not installed"


def write_conf(path, lines=(), idp=None, append=False):
    """Write (append=True: add to) an attestd config file: `oidc_config = ...` of the test
    IdP `idp` first when given, then `lines` ("key = value"), one a line; returns path."""
    lines = (["oidc_config = %s" % idp.config_path] if idp is not None else []) + list(lines)
    with open(path, "a" if append else "w") as f:
        f.write("".join(line + "\n" for line in lines))
    return path


def claims_of(token):
    """The claims (payload) of a compact JWS, not verified."""
    return json.loads(b64url_decode(token.split(".")[1]))


def token_hash(token):
    """b64url(SHA-256(UTF-8(token)))."""
    return b64url(hashlib.sha256(token.encode()).digest())


def serve_main(argv):
    ap = argparse.ArgumentParser(prog="harness.py serve")
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--providers", default="")
    ap.add_argument("--vector", default="",
                    help="serve a real vector instead of synthetic evidence: TEE/NAME under "
                         "the shared vectors folder (production root, --fixed-time = verify_at)")
    ap.add_argument("--stdin-eof", action="store_true",
                    help="also stop when stdin reaches EOF")
    ap.add_argument("--config-line", action="append", default=[],
                    help="append a `key = value` line to the daemon's config (repeatable)")
    a = ap.parse_args(argv)
    providers = [p for p in a.providers.split(",") if p]
    if a.vector:
        env = setup_vector(a.build_dir, a.workdir, a.vector)
    else:
        env = setup_synthetic(a.build_dir, a.workdir, providers)
    if a.config_line:
        with open(env["config"], "a") as f:
            f.write("".join(line + "\n" for line in a.config_line))
    d = Daemon(a.build_dir, env["data_dir"], env["config"], env["fixed_time"])
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        port = d.start()
    except RuntimeError as ex:
        print(str(ex), file=sys.stderr)
        return 1
    info = {"port": port, "base": "https://localhost:%d" % port, "ca": d.ca,
            "evidence": env["evidence"], "data_dir": env["data_dir"],
            "fixed_time": env["fixed_time"], "pid": d.proc.pid}
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    if a.stdin_eof:
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    while not stop.is_set():
        if d.proc.poll() is not None:
            print("harness: attestd exited early (rc=%s)\n%s" % (d.proc.returncode, d.log()),
                  file=sys.stderr)
            return 1
        stop.wait(0.5)
    rc = d.stop()
    if rc != 0:
        print("harness: attestd exit status %s\n%s" % (rc, d.log()[-4000:]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        sys.exit(serve_main(sys.argv[2:]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
