#!/usr/bin/env python3
"""A throwaway OIDC identity provider and policy-signing PKI for management-plane tests.

Keys come from the `openssl` command line; JWTs are signed with `openssl dgst -sha256 -sign`
(RS256), so the tests need nothing beyond the Python standard library and openssl.

    idp = TestIdP(workdir)            # RSA key, JWKS file, oidc_config JSON
    idp.config_path                   # for `oidc_config = ...`
    idp.token(roles=["Attestation.Owner"])
    make_signer(workdir, "name")      # (key.pem, cert.pem, der) for policy signing

Also a command line for tests/sdk: `idp.py setup WORKDIR` prints a JSON description.
"""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time

ISSUER = "https://idp.attestd.test/00000000-0000-0000-0000-00000000feed/v2.0"
AUDIENCE = "api://attestd"
TENANT = "00000000-0000-0000-0000-00000000feed"
ROLE_MAP = {"Attestation.Reader": "Reader", "Attestation.Contributor": "Contributor",
            "Attestation.Owner": "Owner"}


def b64url(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def openssl(*args, data=None):
    r = subprocess.run(["openssl"] + list(args), input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=False)
    if r.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args), r.stderr.decode(errors="replace")))
    return r.stdout


def rsa_key(path):
    if not os.path.exists(path):
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path)
    return path


def rsa_public_jwk(key_path, kid):
    text = openssl("rsa", "-in", key_path, "-noout", "-modulus").decode().strip()
    n = bytes.fromhex(text.split("=", 1)[1])
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64url(n),
            "e": b64url((65537).to_bytes(3, "big"))}


def rs256(key_path, signing_input):
    return openssl("dgst", "-sha256", "-sign", key_path, data=signing_input.encode("ascii"))


def jws(header, payload, key_path=None, raw_payload=None):
    """Compact JWS; payload a dict (JSON) or raw_payload a str ("" for resets)."""
    h = b64url(json.dumps(header, separators=(",", ":")))
    p = b64url(raw_payload if raw_payload is not None
               else json.dumps(payload, separators=(",", ":")))
    si = h + "." + p
    if key_path is None:
        return si + "."
    return si + "." + b64url(rs256(key_path, si))


def make_signer(workdir, name, days=30):
    """A self-signed RSA policy-signing certificate (CA:TRUE, as MAA wants): paths + DER."""
    key = os.path.join(workdir, name + "-key.pem")
    cert = os.path.join(workdir, name + "-cert.pem")
    if not os.path.exists(cert):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                "-days", str(days), "-subj", "/CN=attestd test policy signer " + name,
                "-addext", "basicConstraints=critical,CA:TRUE")
    der = openssl("x509", "-in", cert, "-outform", "DER")
    return {"key": key, "cert": cert, "der": der, "x5c": base64.b64encode(der).decode(),
            "thumbprint": hashlib.sha1(der).hexdigest().upper()}


def policy_jws(text, signer=None):
    """A policy document {"AttestationPolicy": b64url(text)}: unsigned (alg none), or RS256
    by a make_signer() signer, its certificate in x5c."""
    payload = {"AttestationPolicy": b64url(text)}
    if signer is None:
        return jws({"alg": "none"}, payload)
    return jws({"alg": "RS256", "x5c": [signer["x5c"]]}, payload, signer["key"])


class TestIdP:
    def __init__(self, workdir, kid="idp-key-1"):
        self.dir = os.path.join(workdir, "idp")
        os.makedirs(self.dir, exist_ok=True)
        self.kid = kid
        self.key = rsa_key(os.path.join(self.dir, "idp-key.pem"))
        self.rogue_key = rsa_key(os.path.join(self.dir, "rogue-key.pem"))
        self.public_pem = openssl("pkey", "-in", self.key, "-pubout")
        self.jwks_path = os.path.join(self.dir, "jwks.json")
        # n/e as any OIDC JWKS has them, plus x5c (a self-signed certificate over the
        # same key), as Entra ID publishes it: attestd verifies through x5c[0].
        cert = os.path.join(self.dir, "idp-cert.pem")
        if not os.path.exists(cert):
            openssl("req", "-x509", "-new", "-key", self.key, "-out", cert, "-days", "30",
                    "-subj", "/CN=attestd test identity provider")
        jwk = rsa_public_jwk(self.key, kid)
        jwk["x5c"] = [base64.b64encode(openssl("x509", "-in", cert, "-outform", "DER")).decode()]
        with open(self.jwks_path, "w") as f:
            json.dump({"keys": [jwk]}, f)
        self.config_path = os.path.join(self.dir, "oidc.json")
        with open(self.config_path, "w") as f:
            json.dump({"issuers": [{"issuer": ISSUER, "audiences": [AUDIENCE],
                                    "jwks_file": self.jwks_path, "algorithms": ["RS256"]}],
                       "clock_skew_s": 60, "role_map": ROLE_MAP}, f, indent=1)

    def claims(self, roles=None, sub="user-1", **over):
        now = int(time.time())
        c = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "tid": TENANT,
             "oid": "oid-" + sub, "iat": now - 10, "nbf": now - 10, "exp": now + 3600,
             "scp": "attest.manage"}
        if roles:
            c["roles"] = list(roles)
        c.update(over)
        return {k: v for k, v in c.items() if v is not None}

    def token(self, roles=None, sub="user-1", header=None, key=None, **over):
        h = header or {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        return jws(h, self.claims(roles, sub, **over), key or self.key)

    def token_hs256_with_public_key(self, roles=None):
        """The classic key-confusion attack: HMAC keyed with the RSA public key."""
        h = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": self.kid}))
        p = b64url(json.dumps(self.claims(roles)))
        mac = hmac.new(self.public_pem, (h + "." + p).encode(), hashlib.sha256).digest()
        return h + "." + p + "." + b64url(mac)

    def token_alg_none(self, roles=None):
        return jws({"alg": "none", "typ": "JWT"}, self.claims(roles))


def main(argv):
    if len(argv) != 3 or argv[1] != "setup":
        print("usage: idp.py setup WORKDIR", file=sys.stderr)
        return 2
    idp = TestIdP(argv[2])
    out = {"issuer": ISSUER, "audience": AUDIENCE, "tenant": TENANT, "kid": idp.kid,
           "key": idp.key, "config": idp.config_path}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
