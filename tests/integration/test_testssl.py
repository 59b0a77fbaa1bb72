#!/usr/bin/env python3
"""testssl.sh against attestd's TLS listener (issue 6).

    python3 test_testssl.py --build-dir BUILD [--keep]

Runs `testssl --quiet --color 0 --warnings off --jsonfile F -p -e -s -f 127.0.0.1:PORT`
(protocols, every cipher, the standard cipher categories, forward secrecy; about 20 s)
and checks the JSON findings: SSLv2, SSLv3, TLS 1.0 and 1.1 not offered, TLS 1.2 and 1.3
offered; the NULL, aNULL, EXPORT, LOW, 3DES/IDEA and AVERAGE (CBC) categories not
offered; forward secrecy offered; every offered cipher is an ECDHE (or TLS 1.3) AEAD
suite, none CBC, RC4, 3DES, NULL or export.

Without testssl installed it prints "SKIPPED: ..." and exits 77 (ctest SKIP_RETURN_CODE).
"""

import json
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

AEAD_12 = re.compile(r"^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$")
TLS13 = {"TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"}


def run(res, a, exe, work):
    check = res.check
    d = harness.Daemon(os.path.abspath(a.build_dir), os.path.join(work, "data"))
    try:
        d.start()
        out = os.path.join(work, "testssl.json")
        p = subprocess.run([exe, "--quiet", "--color", "0", "--warnings", "off", "--jsonfile",
                            out, "-p", "-e", "-s", "-f", "127.0.0.1:%d" % d.port],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=110)
        findings = {}
        ciphers = []
        if os.path.exists(out):
            for f in json.load(open(out)):
                findings[f["id"]] = f
                if f["id"].startswith("cipher_x"):
                    ciphers.append(f["finding"].split()[1])
        check("testssl ran and wrote findings", len(findings) > 10,
              p.stdout.decode(errors="replace")[-1500:])

        def finding(key):
            return findings.get(key, {}).get("finding", "(missing)")

        for proto in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
            check("testssl: %s not offered" % proto, finding(proto) == "not offered",
                  finding(proto))
        check("testssl: TLS 1.2 offered", finding("TLS1_2").startswith("offered"),
              finding("TLS1_2"))
        check("testssl: TLS 1.3 offered", finding("TLS1_3").startswith("offered"),
              finding("TLS1_3"))
        for cat in ("cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW",
                    "cipherlist_3DES_IDEA", "cipherlist_AVERAGE"):
            check("testssl: %s not offered" % cat, finding(cat) == "not offered", finding(cat))
        check("testssl: forward secrecy offered", finding("PFS") == "offered", finding("PFS"))
        weak = [c for c in ciphers if not (AEAD_12.match(c) or c in TLS13)]
        check("testssl: every offered cipher is ECDHE/TLS 1.3 AEAD (%d offered)" % len(ciphers),
              len(ciphers) >= 3 and not weak, "weak: %s all: %s" % (weak, ciphers))
        bad_words = [c for c in ciphers if re.search(r"CBC|RC4|DES|NULL|EXP|anon|-SHA$", c)]
        check("testssl: no CBC/RC4/3DES/NULL/export suite", not bad_words, str(bad_words))
    except Exception as ex:  # noqa: BLE001
        res.crashed(ex)
    finally:
        d.stop()


def main():
    a = harness.arg_parser().parse_args()
    exe = harness.find_tool("testssl", "testssl.sh",
                            skip="testssl (Debian package testssl.sh) is not installed")
    if exe is None:
        return 77  # ctest SKIP_RETURN_CODE
    res = harness.Results()
    with harness.workdir("testssl", a.keep) as work:
        run(res, a, exe, work)
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
