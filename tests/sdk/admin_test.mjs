// The management plane against the official Azure SDK, @azure/attestation 1.0.0:
// AttestationAdministrationClient with a TokenCredential whose getToken mints an RS256
// token of the test identity provider (tests/integration/idp.py) with node:crypto.
//
//   NODE_EXTRA_CA_CERTS=<data-dir>/tls/cert.pem node admin_test.mjs INFO.json
//
// INFO.json (written by tests/integration/test_sdk_admin.py): {"base", "idp": {"key",
// "kid", "issuer", "audience", "tenant"}, "signers": {"A": {"key","cert"}, "B": {...}}}.
// The default provider is AAD mode; /providers/iso is Isolated with signer A registered.
//
// Prints one line per check and a closing "N passed, M failed"; exit status 1 on failure.

import { AttestationAdministrationClient, createAttestationPolicyToken } from "@azure/attestation";
import { X509Certificate, createHash, createSign } from "node:crypto";
import fs from "node:fs";

const POLICY = "version=1.0; authorizationrules{=> permit();}; issuancerules{};";
const POLICY2 =
  "version=1.0;\r\nauthorizationrules{ => permit(); };\r\nissuancerules{ " +
  'c:[type=="x-ms-sgx-mrsigner"] => issue(type="signer", value=c.value); };';

let passed = 0;
let failed = 0;

function check(name, cond, detail) {
  if (cond) {
    passed++;
    console.log(`PASS ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail !== undefined ? ": " + detail : ""}`);
  }
  return !!cond;
}

async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    check(name, false, `threw ${e && e.code ? e.code + " " : ""}${e && e.message}`);
  }
}

const info = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const idpKey = fs.readFileSync(info.idp.key, "utf8");
const signer = {};
for (const [name, s] of Object.entries(info.signers)) {
  signer[name] = { key: fs.readFileSync(s.key, "utf8"), cert: fs.readFileSync(s.cert, "utf8") };
}

const b64url = (b) => Buffer.from(b).toString("base64url");

/* A token of the test IdP: RS256 over header.payload with node:crypto. */
function mintToken(roles) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: "RS256", typ: "JWT", kid: info.idp.kid };
  const claims = {
    iss: info.idp.issuer, aud: info.idp.audience, tid: info.idp.tenant, sub: "sdk-admin",
    oid: "oid-sdk-admin", iat: now - 10, nbf: now - 10, exp: now + 3600, roles,
  };
  const input = b64url(JSON.stringify(header)) + "." + b64url(JSON.stringify(claims));
  const sig = createSign("RSA-SHA256").update(input).sign(idpKey);
  return { token: input + "." + b64url(sig), expiresOnTimestamp: (now + 3600) * 1000 };
}

function credential(roles) {
  let scopesSeen = null;
  return {
    scopes: () => scopesSeen,
    async getToken(scopes) {
      scopesSeen = scopes;
      return mintToken(roles);
    },
  };
}

const sha256 = (s) => createHash("sha256").update(s).digest();
const certDer = (pem) => new X509Certificate(pem).raw;
const thumbprint = (pem) => createHash("sha1").update(certDer(pem)).digest("hex").toUpperCase();
const samePem = (a, b) => Buffer.compare(certDer(a), certDer(b)) === 0;

const owner = credential(["Attestation.Owner"]);
const aad = new AttestationAdministrationClient(info.base, owner);
const iso = new AttestationAdministrationClient(info.base + "/providers/iso", owner);

// --- AAD provider: policies unsigned and signed by any certificate.
await step("aad getPolicy", async () => {
  const r = await aad.getPolicy("SgxEnclave");
  check("aad getPolicy (default policy)", typeof r.body === "string" && r.body.includes("version"),
    r.body);
  const sc = owner.scopes();
  check("credential asked for the MAA scope",
    Array.isArray(sc) ? sc.includes("https://attest.azure.net/.default")
      : sc === "https://attest.azure.net/.default", JSON.stringify(sc));
});
await step("aad setPolicy unsigned", async () => {
  const r = await aad.setPolicy("SgxEnclave", POLICY);
  const expected = sha256(createAttestationPolicyToken(POLICY).serialize());
  check("aad setPolicy unsigned: Updated", r.body.policyResolution === "Updated",
    r.body.policyResolution);
  check("aad setPolicy unsigned: policyTokenHash recomputed",
    Buffer.compare(Buffer.from(r.body.policyTokenHash), expected) === 0);
  check("aad setPolicy unsigned: no policySigner", r.body.policySigner === undefined,
    JSON.stringify(r.body.policySigner));
  const g = await aad.getPolicy("SgxEnclave");
  check("aad getPolicy returns the text", g.body === POLICY, g.body);
});
await step("aad setPolicy signed", async () => {
  const r = await aad.setPolicy("OpenEnclave", POLICY2,
    { privateKey: signer.B.key, certificate: signer.B.cert });
  const expected = sha256(
    createAttestationPolicyToken(POLICY2, signer.B.key, signer.B.cert).serialize());
  check("aad setPolicy signed: policyTokenHash recomputed",
    Buffer.compare(Buffer.from(r.body.policyTokenHash), expected) === 0);
  const pem = r.body.policySigner && r.body.policySigner.certificates[0];
  check("aad setPolicy signed: policySigner is the signing cert",
    pem !== undefined && samePem(pem, signer.B.cert));
  const g = await aad.getPolicy("OpenEnclave");
  check("aad getPolicy returns the signed text byte-exact", g.body === POLICY2, g.body);
});
await step("aad resetPolicy", async () => {
  const r = await aad.resetPolicy("SgxEnclave");
  check("aad resetPolicy: Removed", r.body.policyResolution === "Removed", r.body.policyResolution);
  const expected = sha256("eyJhbGciOiJub25lIn0..");
  check("aad resetPolicy: policyTokenHash",
    Buffer.compare(Buffer.from(r.body.policyTokenHash), expected) === 0);
  const g = await aad.getPolicy("SgxEnclave");
  check("aad getPolicy after reset is the default", g.body !== POLICY, g.body);
});
await step("aad getPolicyManagementCertificates", async () => {
  const r = await aad.getPolicyManagementCertificates();
  check("aad getPolicyManagementCertificates: empty", Array.isArray(r.body) && r.body.length === 0,
    JSON.stringify(r.body));
});
await step("aad addPolicyManagementCertificate", async () => {
  try {
    await aad.addPolicyManagementCertificate(signer.B.cert, signer.A.key, signer.A.cert);
    check("aad addPolicyManagementCertificate refused", false, "succeeded");
  } catch (e) {
    check("aad addPolicyManagementCertificate refused (400 InvalidOperation)",
      e.statusCode === 400 && e.code === "InvalidOperation", `${e.statusCode} ${e.code}`);
  }
});

// --- Isolated provider: everything signed by a policy management certificate.
await step("iso setPolicy unsigned", async () => {
  try {
    await iso.setPolicy("SgxEnclave", POLICY);
    check("iso setPolicy unsigned refused", false, "succeeded");
  } catch (e) {
    check("iso setPolicy unsigned refused (400)", e.statusCode === 400, `${e.statusCode} ${e.code}`);
  }
});
await step("iso setPolicy signed", async () => {
  const r = await iso.setPolicy("SgxEnclave", POLICY,
    { privateKey: signer.A.key, certificate: signer.A.cert });
  const expected = sha256(
    createAttestationPolicyToken(POLICY, signer.A.key, signer.A.cert).serialize());
  check("iso setPolicy signed: Updated + policyTokenHash",
    r.body.policyResolution === "Updated" &&
    Buffer.compare(Buffer.from(r.body.policyTokenHash), expected) === 0);
  check("iso setPolicy signed: policySigner = A",
    r.body.policySigner && samePem(r.body.policySigner.certificates[0], signer.A.cert));
  const g = await iso.getPolicy("SgxEnclave");
  check("iso getPolicy returns the text", g.body === POLICY, g.body);
});
await step("iso getPolicyManagementCertificates", async () => {
  const r = await iso.getPolicyManagementCertificates();
  check("iso getPolicyManagementCertificates: [A]",
    r.body.length === 1 && samePem(r.body[0].certificates[0], signer.A.cert),
    JSON.stringify(r.body));
});
await step("iso addPolicyManagementCertificate", async () => {
  const r = await iso.addPolicyManagementCertificate(signer.B.cert, signer.A.key, signer.A.cert);
  check("iso addPolicyManagementCertificate: IsPresent + thumbprint",
    r.body.certificateResolution === "IsPresent" &&
    r.body.certificateThumbprint === thumbprint(signer.B.cert), JSON.stringify(r.body));
  const l = await iso.getPolicyManagementCertificates();
  check("iso certificates now [A, B]", l.body.length === 2, JSON.stringify(l.body.length));
});
await step("iso resetPolicy signed by B", async () => {
  const r = await iso.resetPolicy("SgxEnclave",
    { privateKey: signer.B.key, certificate: signer.B.cert });
  check("iso resetPolicy: Removed + policySigner B",
    r.body.policyResolution === "Removed" && r.body.policySigner &&
    samePem(r.body.policySigner.certificates[0], signer.B.cert));
});
await step("iso removePolicyManagementCertificate", async () => {
  const r = await iso.removePolicyManagementCertificate(signer.A.cert, signer.B.key,
    signer.B.cert);
  check("iso removePolicyManagementCertificate: IsAbsent + thumbprint",
    r.body.certificateResolution === "IsAbsent" &&
    r.body.certificateThumbprint === thumbprint(signer.A.cert), JSON.stringify(r.body));
  try {
    await iso.removePolicyManagementCertificate(signer.B.cert, signer.B.key, signer.B.cert);
    check("iso remove of the last certificate refused", false, "succeeded");
  } catch (e) {
    check("iso remove of the last certificate refused (400)", e.statusCode === 400,
      `${e.statusCode} ${e.code}`);
  }
  try {
    await iso.setPolicy("SgxEnclave", POLICY, { privateKey: signer.A.key, certificate: signer.A.cert });
    check("iso removed signer A can no longer set a policy", false, "succeeded");
  } catch (e) {
    check("iso removed signer A can no longer set a policy (400)", e.statusCode === 400,
      `${e.statusCode} ${e.code}`);
  }
});

// --- RBAC through the SDK: a Reader may read, not write.
await step("reader", async () => {
  const reader = new AttestationAdministrationClient(info.base, credential(["Attestation.Reader"]));
  const g = await reader.getPolicy("SgxEnclave");
  check("reader getPolicy", typeof g.body === "string");
  try {
    await reader.setPolicy("SgxEnclave", POLICY);
    check("reader setPolicy refused", false, "succeeded");
  } catch (e) {
    check("reader setPolicy refused (403)", e.statusCode === 403, `${e.statusCode} ${e.code}`);
  }
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
