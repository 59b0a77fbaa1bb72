#!/usr/bin/env python3
"""Encryption at rest through the real binaries (docs/encryption-at-rest.md).

    python3 test_encryption.py --build-dir BUILD [--keep]

1. attestd refuses to start, exit 1 with exactly one stderr line, without a KEK, with a
   wrong KEK, with a key file of mode 0644, and with a malformed ATTESTD_KEK.
2. `attestctl key generate` makes a 0600 file and refuses to overwrite it.
3. The operator rotation procedure of the docs, with attestd running on the store and
   reading its KEK from a file: install the new KEK at the daemon's path, then
   `attestctl key rotate --kek-file OLD --new-kek-file NEW --reencrypt`; the daemon keeps
   serving the policy (GET) and accepting writes (PUT) without a restart; after a restart
   it opens with the new key; `key status` shows data key 2 active; the old key is refused.
4. The database file holds no policy text, principal id or key bytes.

Prints one line per check, then "N passed, M failed"; exits non-zero on any failure.
"""

import os
import shutil
import stat
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from idp import TestIdP, policy_jws  # noqa: E402

API = "api-version=2022-08-01"
MARK = "encryption-marker-policy-4242"
POLICY = ('version=1.0; authorizationrules{=> permit();}; issuancerules{'
          '=> issue(type="m", value="%s");};' % MARK)
NO_KEK = ("attestd: error: store: no key-encryption key (set kek_file, ATTESTD_KEK or the "
          "systemd credential attestd-kek)")
WRONG_KEK = ("attestd: error: store: the key-encryption key does not open this store's "
             "data key (wrong key?)")


def attestd_once(build_dir, data, env, extra=()):
    """Run attestd expecting it to stop at start; (exit code, stderr lines)."""
    exe = harness.binary(build_dir, "attestd")
    p = subprocess.run([exe, "--listen", "127.0.0.1:0", "--data-dir", data] + list(extra),
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, timeout=20)
    return p.returncode, p.stderr.decode(errors="replace").splitlines()


def run(res, args, work):
    check = res.check
    ctl = harness.binary(args.build_dir, "attestctl")
    daemon = None
    try:
        env_nokek = {k: v for k, v in os.environ.items()
                     if k not in ("ATTESTD_KEK", "CREDENTIALS_DIRECTORY")}
        data = os.path.join(work, "data")
        old_key = os.path.join(work, "old.key")
        new_key = os.path.join(work, "new.key")
        live_key = os.path.join(work, "attestd-kek")  # the path attestd reads

        # 2. key generate
        r = harness.run([ctl, "key", "generate", "--out", old_key], check=False)
        mode = stat.S_IMODE(os.stat(old_key).st_mode) if os.path.exists(old_key) else None
        check("key generate -> 0600 file of 64 hex + newline",
              r.returncode == 0 and mode == 0o600 and len(open(old_key).read()) == 65,
              "rc=%d mode=%s" % (r.returncode, mode))
        r = harness.run([ctl, "key", "generate", "--out", old_key], check=False)
        check("key generate refuses to overwrite",
              r.returncode != 0 and b"refusing to overwrite" in r.stderr, r.stderr[:200])
        harness.run([ctl, "key", "generate", "--out", new_key])
        shutil.copyfile(old_key, live_key)
        os.chmod(live_key, 0o600)

        # 1. start refusals (the first on a fresh data dir: nothing is created).
        rc, lines = attestd_once(args.build_dir, data, env_nokek)
        check("no KEK -> exit 1, one line", rc == 1 and lines == [NO_KEK], "rc=%d %r" % (rc, lines))
        check("no KEK -> nothing written", not os.path.exists(os.path.join(data, "attestd.db")))
        # Create the store under the live key (with a provider, a role and a policy).
        kenv = dict(env_nokek)
        kf = ["--kek-file", live_key]
        harness.run([ctl, "--data-dir", data] + kf + ["provider", "create", "p1"], env=kenv)
        harness.run([ctl, "--data-dir", data] + kf + [
            "role", "assign", "--principal", "principal-marker@enc.example", "--role", "Owner"],
            env=kenv)
        wrong = dict(env_nokek, ATTESTD_KEK=os.urandom(32).hex())
        rc, lines = attestd_once(args.build_dir, data, wrong)
        check("wrong KEK -> exit 1, one line", rc == 1 and lines == [WRONG_KEK],
              "rc=%d %r" % (rc, lines))
        bad = dict(env_nokek, ATTESTD_KEK="not-a-key")
        rc, lines = attestd_once(args.build_dir, data, bad)
        check("malformed ATTESTD_KEK -> exit 1, one line naming the format",
              rc == 1 and len(lines) == 1 and "64 hex characters" in lines[0], repr(lines))
        loose = os.path.join(work, "loose.key")
        shutil.copyfile(old_key, loose)
        os.chmod(loose, 0o644)
        rc, lines = attestd_once(args.build_dir, data, env_nokek, ["--kek-file", loose])
        check("0644 key file -> exit 1, one line naming the mode",
              rc == 1 and len(lines) == 1 and lines[0].startswith("attestd: error: store: key file")
              and "0600" in lines[0] and "0644" in lines[0], repr(lines))

        # 3. The rotation procedure with a running daemon.
        idp = TestIdP(work)
        conf = os.path.join(work, "attestd.conf")
        harness.write_conf(conf, ["kek_file = %s" % live_key], idp)
        os.environ.pop("ATTESTD_KEK", None)  # the daemon must use kek_file
        daemon = harness.Daemon(args.build_dir, data, conf)
        client = harness.Client(daemon.start(), daemon.ca)
        tok = idp.token(["Attestation.Owner"], sub="enc-owner")
        hdrs = {"Authorization": "Bearer " + tok, "Content-Type": "text/plain"}

        def put(text):
            body = policy_jws(text)
            return client.request("PUT", "/providers/p1/policies/SgxEnclave?" + API,
                                  body=body.encode(), headers=hdrs)

        def get_text():
            r = client.request("GET", "/providers/p1/policies/SgxEnclave?" + API, headers=hdrs)
            return r.status, (r.json or {}).get("token", "")

        r = put(POLICY)
        check("PUT before rotation -> 200", r.status == 200, repr(r))
        st0, tok0 = get_text()
        check("GET before rotation -> 200", st0 == 200, str(st0))
        # Procedure: keep the old key aside, install the new one where attestd reads it,
        # then rotate the store from the old key to the new one.
        shutil.copyfile(new_key, live_key)
        os.chmod(live_key, 0o600)
        r = harness.run([ctl, "--data-dir", data, "--kek-file", old_key, "key", "rotate",
                         "--new-kek-file", live_key, "--reencrypt"], check=False, env=kenv)
        check("key rotate --reencrypt -> 0", r.returncode == 0, r.stderr[:300])
        st1, _ = get_text()
        check("running attestd serves after re-encryption (GET 200)", st1 == 200, str(st1))
        r = put(POLICY.replace(MARK, MARK + "-v2"))
        check("running attestd writes after re-encryption (PUT 200)", r.status == 200, repr(r))
        r = harness.run([ctl, "--data-dir", data, "--kek-file", live_key, "policy", "get",
                         "--provider", "p1", "--type", "SgxEnclave"], check=False, env=kenv)
        check("attestctl with the new key reads the daemon's write",
              r.returncode == 0 and (MARK + "-v2").encode() in r.stdout, r.stderr[:200])
        rc = daemon.restart()
        check("restart after rotation (new key from kek_file)", rc == 0, str(rc))
        client = harness.Client(daemon.port, daemon.ca)
        st2, _ = get_text()
        check("GET after restart -> 200", st2 == 200, str(st2))
        r = harness.run([ctl, "--data-dir", data, "--kek-file", live_key, "key", "status"],
                        check=False, env=kenv)
        out = r.stdout.decode()
        check("key status: file source, data key 2 active only",
              r.returncode == 0 and "kek_source: file" in out and "data_key 2 active" in out
              and "data_key 1" not in out, out)
        r = harness.run([ctl, "--data-dir", data, "--kek-file", old_key, "key", "status"],
                        check=False, env=kenv)
        check("old key refused after rotation",
              r.returncode != 0 and b"wrong key?" in r.stderr, r.stderr[:200])
        daemon.stop()

        # 4. No plaintext in the file.
        blob = b""
        for name in ("attestd.db", "attestd.db-wal"):
            path = os.path.join(data, name)
            if os.path.exists(path):
                blob += open(path, "rb").read()
        key_hex = open(new_key).read().strip().encode()
        check("store files hold no policy text, principal or KEK",
              MARK.encode() not in blob and b"principal-marker" not in blob
              and key_hex not in blob and bytes.fromhex(key_hex.decode()) not in blob)
    except Exception as ex:
        res.crashed(ex)
        if daemon is not None:
            print(daemon.log())
    finally:
        if daemon is not None:
            daemon.kill()


def main():
    args = harness.arg_parser().parse_args()
    if harness.find_tool("openssl", skip=harness.OPENSSL_MISSING) is None:
        return 0
    res = harness.Results()
    with harness.workdir("enc", args.keep) as work:
        run(res, args, work)
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
