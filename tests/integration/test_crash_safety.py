#!/usr/bin/env python3
"""Crash safety of management writes (issue 7): attestd killed with SIGKILL during a burst
of concurrent policy writes, again and again; the store must open every time and every
policy must be exactly one of the versions written, never torn, and never older than the
last version the daemon acknowledged (WAL + synchronous=FULL: an acknowledged write is
durable).

    python3 test_crash_safety.py --build-dir BUILD [--rounds N] [--keep]

Setup: a test identity provider (idp.py) backs oidc_config; providers `default` (made by
attestd) plus c1 and c2 (attestctl provider create); an Owner token. Each round starts
attestd, runs one writer thread per (provider, type) PUTting /policies/{type} with
successive versions (each text carries provider, type and version), sends SIGKILL at a
random moment, then reads every policy back with `attestctl policy get --data-dir`.

Prints one line per check, then "N passed, M failed"; exits non-zero on any failure.
"""

import os
import random
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from idp import TestIdP, policy_jws  # noqa: E402

API = "api-version=2022-08-01"
PROVIDERS = ("default", "c1", "c2")
TYPES = ("SgxEnclave", "OpenEnclave")


def policy_text(prov, typ, n):
    # Padding makes each write span several database pages, so a torn write would show.
    pad = "x" * (1500 + 37 * n % 900)
    return ('version=1.0; authorizationrules{=> permit();}; issuancerules{'
            '=> issue(type="marker", value="%s/%s/%d/%s");};' % (prov, typ, n, pad))


def path_for(prov, typ):
    base = "" if prov == "default" else "/providers/" + prov
    return "%s/policies/%s?%s" % (base, typ, API)


class Writer(threading.Thread):
    """Successive versions of one (provider, type) policy until the daemon dies."""

    def __init__(self, client, token, prov, typ, start):
        super().__init__(daemon=True)
        self.client, self.token, self.prov, self.typ = client, token, prov, typ
        self.next = start
        self.sent = []    # versions whose request was (at least partly) sent
        self.acked = 0    # highest version answered 200 (0: none)
        self.errors = []

    def run(self):
        while True:
            n = self.next
            body = policy_jws(policy_text(self.prov, self.typ, n))
            self.sent.append(n)
            try:
                r = self.client.request("PUT", path_for(self.prov, self.typ),
                                        body=body.encode(), headers={
                                            "Authorization": "Bearer " + self.token,
                                            "Content-Type": "text/plain"})
            except OSError:
                return  # the daemon is gone
            if r.status != 200:
                self.errors.append(repr(r))
                return
            self.acked = n
            self.next = n + 1


def run(res, args, work):
    check = res.check
    daemon = None
    try:
        idp = TestIdP(work)
        data = os.path.join(work, "data")
        for p in PROVIDERS[1:]:
            harness.attestctl(args.build_dir, data, "provider", "create", p)
        conf = os.path.join(work, "attestd.conf")
        harness.write_conf(conf, ["log_level = error"], idp)
        token = idp.token(["Attestation.Owner"], sub="crash-owner")
        rng = random.Random(int(os.environ.get("CRASH_SEED", str(int(time.time())))))
        # Per key: every version ever sent, and the highest one acknowledged.
        sent = {(p, t): set() for p in PROVIDERS for t in TYPES}
        acked = {k: 0 for k in sent}
        nxt = {k: 1 for k in sent}
        total_acked = 0
        t_start = time.time()
        for rnd in range(args.rounds):
            daemon = harness.Daemon(args.build_dir, data, conf)
            port = daemon.start()
            client = harness.Client(port, daemon.ca, timeout=10)
            writers = [Writer(client, token, p, t, nxt[(p, t)]) for (p, t) in sent]
            for w in writers:
                w.start()
            time.sleep(rng.uniform(0.05, 0.5))
            daemon.proc.kill()  # SIGKILL, mid-burst
            daemon.proc.wait()
            for w in writers:
                w.join(15)
            daemon.stop()
            errs = [e for w in writers for e in w.errors]
            check("round %d: every answered write succeeded" % rnd, not errs, str(errs[:2]))
            for w in writers:
                k = (w.prov, w.typ)
                sent[k].update(w.sent)
                if w.acked:
                    total_acked += w.acked - acked[k] if w.acked > acked[k] else 0
                    acked[k] = max(acked[k], w.acked)
                nxt[k] = max(w.sent) + 1 if w.sent else nxt[k]
            # The store opens and every policy is one whole version, not older than the
            # last acknowledged one.
            bad = []
            for (p, t) in sorted(sent):
                r = harness.attestctl(args.build_dir, data, "policy", "get", "--provider", p,
                                      "--type", t, check=False)
                err = r.stderr.decode(errors="replace")
                if r.returncode != 0:
                    if acked[(p, t)] or "no " not in err:
                        bad.append("%s/%s: exit %d %s" % (p, t, r.returncode, err.strip()[:200]))
                    continue
                text = r.stdout.decode(errors="replace")
                ver = None
                for n in sent[(p, t)]:
                    if text == policy_text(p, t, n):
                        ver = n
                        break
                if ver is None:
                    bad.append("%s/%s: stored text is none of the versions written (%d bytes)"
                               % (p, t, len(text)))
                elif ver < acked[(p, t)]:
                    bad.append("%s/%s: version %d stored, but %d was acknowledged"
                               % (p, t, ver, acked[(p, t)]))
                else:
                    # What is stored is the new baseline: later rounds write above it.
                    acked[(p, t)] = ver
            check("round %d: store opens, every policy whole and durable" % rnd, not bad,
                  "; ".join(bad[:3]))
        check("the bursts wrote policies (%d acknowledged writes)" % total_acked,
              total_acked >= len(sent), str(acked))
        check("crash rounds ran in %.1f s" % (time.time() - t_start), True)
        # SQLite settings of the file: WAL is persistent; synchronous=FULL is asserted by
        # the store itself at every open (store_sqlite.c configure()).
        with open(os.path.join(data, "attestd.db"), "rb") as f:
            hdr = f.read(20)
        check("database file is in WAL mode (header bytes 18-19 = 2)",
              hdr[18] == 2 and hdr[19] == 2, hdr[18:20].hex())
    except Exception as ex:
        res.crashed(ex)
        if daemon is not None:
            print(daemon.log())
    finally:
        if daemon is not None:
            daemon.kill()


def main():
    ap = harness.arg_parser()
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    if harness.find_tool("openssl", skip=harness.OPENSSL_MISSING) is None:
        return 0
    res = harness.Results()
    with harness.workdir("crash", args.keep) as work:
        run(res, args, work)
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
