#!/usr/bin/env python3
"""ctest entry for the JS SDK admin-client test (tests/sdk/admin_test.mjs).

    python3 test_sdk_admin.py --build-dir BUILD

Installs the pinned SDK (npm ci, tests/sdk/package-lock.json) into BUILD/sdk-admin-test,
sets up the test identity provider (idp.py), policy signers A and B (openssl), an Isolated
provider `iso` registered with A (attestctl), starts attestd with `oidc_config`, and runs
admin_test.mjs with NODE_EXTRA_CA_CERTS = the daemon's self-signed certificate.
Prints "SKIPPED: ..." and exits 0 when node/npm/openssl are missing or the npm registry is
unreachable with nothing cached.
"""

import json
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from idp import AUDIENCE, ISSUER, TENANT, TestIdP, make_signer  # noqa: E402

SDK = os.path.join(HERE, "..", "sdk")


def skip(why):
    print("SKIPPED: sdk admin test: %s" % why)
    return 0


def install(build):
    app = os.path.join(build, "sdk-admin-test")
    os.makedirs(app, exist_ok=True)
    for f in ("package.json", "package-lock.json", "admin_test.mjs"):
        shutil.copy(os.path.join(SDK, f), app)
    r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline",
                        "--loglevel=error"], cwd=app, capture_output=True, timeout=300)
    if r.returncode != 0:
        ping = subprocess.run(["npm", "ping"], capture_output=True, timeout=30)
        if ping.returncode != 0:
            return None, "npm registry unreachable and the SDK is not cached"
        return None, "npm ci failed: " + r.stderr.decode(errors="replace")[-2000:]
    return app, None


def run(build, app, work):
    """The SDK's admin_test.mjs against a daemon; its exit status (1 on a daemon failure)."""
    d = None
    rc = 1
    try:
        idp = TestIdP(work)
        signers = {n: make_signer(work, n) for n in ("A", "B")}
        data = os.path.join(work, "data")
        harness.attestctl(build, data, "provider", "create", "iso", "--mode", "isolated",
                          "--signer-cert", signers["A"]["cert"])
        conf = os.path.join(work, "attestd.conf")
        harness.write_conf(conf, idp=idp)
        d = harness.Daemon(build, data, conf)
        port = d.start()
        info = {"base": "https://localhost:%d" % port,
                "idp": {"key": idp.key, "kid": idp.kid, "issuer": ISSUER, "audience": AUDIENCE,
                        "tenant": TENANT},
                "signers": {n: {"key": s["key"], "cert": s["cert"]} for n, s in signers.items()}}
        path = os.path.join(work, "info.json")
        with open(path, "w") as f:
            json.dump(info, f)
        env = dict(os.environ, NODE_EXTRA_CA_CERTS=d.ca, NO_PROXY="localhost,127.0.0.1",
                   no_proxy="localhost,127.0.0.1")
        sys.stdout.flush()
        rc = subprocess.run(["node", "admin_test.mjs", path], cwd=app, env=env,
                            timeout=300).returncode
    finally:
        if d is not None:
            st = d.stop()
            if st != 0:
                print("FAIL attestd shutdown (%s)\n%s" % (st, d.log()[-3000:]))
                rc = 1
            elif rc != 0:
                print(d.log()[-3000:])
    return rc


def main():
    a = harness.arg_parser().parse_args()
    build = os.path.abspath(a.build_dir)
    for tool in ("node", "npm", "openssl"):
        if shutil.which(tool) is None:
            return skip("%s not installed" % tool)
    major = subprocess.run(["node", "-p", "process.versions.node.split('.')[0]"],
                           capture_output=True).stdout.decode().strip()
    if not major.isdigit() or int(major) < 18:
        return skip("node >= 18 needed")
    app, why = install(build)
    if app is None:
        if why.startswith("npm registry"):
            return skip(why)
        print(why)
        print("0 passed, 1 failed")
        return 1
    with harness.workdir("sdk-admin", a.keep) as work:
        return run(build, app, work)


if __name__ == "__main__":
    sys.exit(main())
