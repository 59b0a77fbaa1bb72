// Conformance test of attestd against the official Azure SDK, @azure/attestation 1.0.0.
//
//   NODE_EXTRA_CA_CERTS=<data-dir>/tls/cert.pem node sdk_test.mjs INFO.json
//
// INFO.json is the line tests/integration/harness.py `serve` prints (port, base URL,
// evidence directory from gen_evidence, ...). The server is reached as
// https://localhost:PORT with its self-signed certificate trusted through
// NODE_EXTRA_CA_CERTS (maa-api.md §5.5). Every token the SDK returns is also verified
// here independently of the SDK (node:crypto + the x5c served by /certs).
//
// Prints one line per check and a closing "N passed, M failed"; exit status 1 on failure.

import { AttestationClient } from "@azure/attestation";
import { X509Certificate, createHash, createVerify } from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";

const DRAFT_POLICY =
  'version=1.0; authorizationrules{ => permit(); }; issuancerules{ ' +
  'c:[type=="x-ms-sgx-mrenclave"] => issue(type="draft-mrenclave", value=c.value); };';
const DENY_POLICY = "version=1.0; authorizationrules{ => deny(); }; issuancerules{};";

let passed = 0;
let failed = 0;
const failures = [];

function check(name, cond, detail) {
  if (cond) {
    passed++;
    console.log(`PASS ${name}`);
  } else {
    failed++;
    failures.push(name);
    console.log(`FAIL ${name}${detail !== undefined ? ": " + detail : ""}`);
  }
  return !!cond;
}

function eq(name, got, want) {
  return check(name, isDeepStrictEqual(got, want),
    `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

const b64url = (buf) => Buffer.from(buf).toString("base64url");

function policyHash(text) {
  // x-ms-policy-hash = SHA-256(UTF-8(base64url(UTF-8(policy)))) as raw bytes (the SDK decodes it)
  return createHash("sha256").update(b64url(Buffer.from(text, "utf8")), "ascii").digest();
}

function getJson(url) {
  return new Promise((resolve, reject) => {
    https.get(url, { headers: { Accept: "application/json" } }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        try {
          resolve({ status: res.statusCode, headers: res.headers,
                    json: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
        } catch (e) {
          reject(e);
        }
      });
    }).on("error", reject);
  });
}

function splitJwt(token) {
  const parts = token.split(".");
  if (parts.length !== 3) throw new Error(`token has ${parts.length} parts`);
  return {
    header: JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8")),
    body: JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")),
    signed: `${parts[0]}.${parts[1]}`,
    sig: Buffer.from(parts[2], "base64url"),
    sigPart: parts[2],
  };
}

// Independent RS256 verification against a /certs JWKS (not the SDK's code path).
function verifyIndependently(name, token, jwks) {
  let t;
  try {
    t = splitJwt(token);
  } catch (e) {
    return check(`${name}: token parses`, false, e.message);
  }
  eq(`${name}: header alg`, t.header.alg, "RS256");
  const key = (jwks.keys || []).find((k) => k.kid === t.header.kid);
  if (!check(`${name}: header kid is a /certs kid`, key !== undefined, t.header.kid)) return false;
  const cert = new X509Certificate(Buffer.from(key.x5c[0], "base64"));
  const ok = createVerify("RSA-SHA256").update(t.signed).verify(cert.publicKey, t.sig);
  check(`${name}: RS256 signature verifies with x5c[0] (node:crypto)`, ok);
  const bad = Buffer.from(t.sig);
  bad[bad.length >> 1] ^= 1;
  check(`${name}: a flipped signature bit does not verify`,
    !createVerify("RSA-SHA256").update(t.signed).verify(cert.publicKey, bad));
  return ok;
}

async function expectRestError(name, promise, status, code) {
  try {
    await promise;
    check(`${name}: rejected`, false, "call succeeded");
  } catch (e) {
    eq(`${name}: RestError.statusCode`, e.statusCode, status);
    if (code !== undefined) eq(`${name}: RestError.code`, e.code, code);
  }
}

async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    check(`${name} ran without an exception`, false, `${e && e.name}: ${e && e.message}`);
  }
}

async function main() {
  const info = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const endpoint = info.base;
  const ev = info.evidence;
  const read = (f) => fs.readFileSync(path.join(ev, f));
  const expected = JSON.parse(read("expected.json").toString("utf8"));
  const quote = read("sgx_v3.bin");
  const quoteJson = read("sgx_v3_json.bin");
  const oeReport = read("oe_report.bin");
  const tampered = read("sgx_tampered.bin");
  const runtime = read("runtime.bin");
  const runtimeJson = read("runtime.json");
  const exp = expected.sgx;

  const jwks = (await getJson(`${endpoint}/certs`)).json;
  const p2jwks = (await getJson(`${endpoint}/providers/p2/certs`)).json;
  const defaultKids = new Set((jwks.keys || []).map((k) => k.kid));

  const client = new AttestationClient(endpoint);

  await step("getOpenIdMetadata", async () => {
    const meta = await client.getOpenIdMetadata();
    eq("getOpenIdMetadata: issuer", meta.issuer, endpoint);
    eq("getOpenIdMetadata: jwks_uri", meta.jwks_uri, `${endpoint}/certs`);
  });

  await step("getAttestationSigners", async () => {
    const signers = await client.getAttestationSigners();
    check("getAttestationSigners: at least one signer", signers.length >= 1, signers.length);
    eq("getAttestationSigners: keyIds = /certs kids",
      signers.map((s) => s.keyId).sort(), [...defaultKids].sort());
    for (const s of signers) {
      const pem = s.certificates[0] || "";
      let ok = false;
      try {
        const der = new X509Certificate(pem).raw;
        const jwk = jwks.keys.find((k) => k.kid === s.keyId);
        ok = jwk !== undefined && der.equals(Buffer.from(jwk.x5c[0], "base64"));
      } catch (e) {
        ok = false;
      }
      check(`getAttestationSigners: ${s.keyId}: PEM certificate = /certs x5c[0]`, ok);
    }
  });

  await step("attestSgxEnclave (runTimeData)", async () => {
    const res = await client.attestSgxEnclave(quote, { runTimeData: runtime });
    const b = res.body;
    const n = "attestSgxEnclave";
    eq(`${n}: body.mrEnclave`, b.mrEnclave, exp.mrenclave);
    eq(`${n}: body.mrSigner`, b.mrSigner, exp.mrsigner);
    eq(`${n}: body.productId`, b.productId, exp.product_id);
    eq(`${n}: body.svn`, b.svn, exp.svn);
    eq(`${n}: body.isDebuggable`, b.isDebuggable, false);
    eq(`${n}: body.verifierType`, b.verifierType, "sgx");
    eq(`${n}: body.issuer`, b.issuer, endpoint);
    eq(`${n}: body.version`, b.version, "1.0");
    check(`${n}: body.uniqueId is 64 hex`, /^[0-9a-f]{64}$/.test(b.uniqueId || ""), b.uniqueId);
    check(`${n}: body.enclaveHeldData = runtime bytes`,
      b.enclaveHeldData && Buffer.from(b.enclaveHeldData).equals(runtime),
      b.enclaveHeldData && Buffer.from(b.enclaveHeldData).toString("hex"));
    check(`${n}: body.policyHash is 32 bytes`,
      b.policyHash && Buffer.from(b.policyHash).length === 32);
    const col = b.sgxCollateral || {};
    eq(`${n}: body.sgxCollateral.quotehash`, col.quotehash,
      createHash("sha256").update(quote).digest("hex"));
    check(`${n}: body.sgxCollateral has 7 hashes`, Object.keys(col).length >= 7,
      JSON.stringify(col));
    const raw = res.token.getBody();
    eq(`${n}: token.getBody() x-ms-sgx-mrenclave`, raw["x-ms-sgx-mrenclave"], exp.mrenclave);
    eq(`${n}: token.getBody() x-ms-sgx-report-data`, raw["x-ms-sgx-report-data"],
      exp.report_data);
    eq(`${n}: token.algorithm`, res.token.algorithm, "RS256");
    check(`${n}: token.keyId is a /certs kid`, defaultKids.has(res.token.keyId), res.token.keyId);
    eq(`${n}: token.issuer`, res.token.issuer, endpoint);
    check(`${n}: token.expiresOn - issuedAt = 8 h`,
      res.token.expiresOn.getTime() - res.token.issuedAt.getTime() === 8 * 3600 * 1000);
    verifyIndependently(n, res.token.serialize(), jwks);
  });

  await step("attestSgxEnclave (runTimeJson)", async () => {
    const res = await client.attestSgxEnclave(quoteJson, { runTimeJson: runtimeJson });
    const n = "attestSgxEnclave runTimeJson";
    eq(`${n}: body.runTimeClaims`, res.body.runTimeClaims,
      JSON.parse(runtimeJson.toString("utf8")));
    eq(`${n}: body.enclaveHeldData absent`, res.body.enclaveHeldData, undefined);
    eq(`${n}: body.mrEnclave`, res.body.mrEnclave, expected.sgx_json.mrenclave);
    verifyIndependently(n, res.token.serialize(), jwks);
  });

  await step("attestSgxEnclave (draftPolicyForAttestation)", async () => {
    const res = await client.attestSgxEnclave(quote, {
      runTimeData: runtime,
      draftPolicyForAttestation: DRAFT_POLICY,
    });
    const n = "attestSgxEnclave draft policy";
    eq(`${n}: token.algorithm`, res.token.algorithm, "none");
    const t = splitJwt(res.token.serialize());
    eq(`${n}: empty signature`, t.sigPart, "");
    check(`${n}: body.policyHash = SHA-256(b64url(draft))`,
      res.body.policyHash && Buffer.from(res.body.policyHash).equals(policyHash(DRAFT_POLICY)));
    eq(`${n}: issued claim draft-mrenclave`, res.token.getBody()["draft-mrenclave"],
      exp.mrenclave);
    eq(`${n}: body.mrEnclave`, res.body.mrEnclave, exp.mrenclave);
  });

  await step("attestOpenEnclave", async () => {
    const res = await client.attestOpenEnclave(oeReport, { runTimeData: runtime });
    const n = "attestOpenEnclave";
    eq(`${n}: body.verifierType`, res.body.verifierType, "sgx");
    eq(`${n}: body.mrEnclave`, res.body.mrEnclave, exp.mrenclave);
    eq(`${n}: body.mrSigner`, res.body.mrSigner, exp.mrsigner);
    check(`${n}: body.enclaveHeldData = runtime bytes`,
      res.body.enclaveHeldData && Buffer.from(res.body.enclaveHeldData).equals(runtime));
    verifyIndependently(n, res.token.serialize(), jwks);
  });

  await step("attestOpenEnclave (draft policy)", async () => {
    const res = await client.attestOpenEnclave(oeReport, {
      runTimeData: runtime, draftPolicyForAttestation: DRAFT_POLICY });
    eq("attestOpenEnclave draft policy: token.algorithm", res.token.algorithm, "none");
    eq("attestOpenEnclave draft policy: issued claim", res.token.getBody()["draft-mrenclave"],
      exp.mrenclave);
  });

  await step("SDK issuer validation", async () => {
    const res = await client.attestSgxEnclave(quote, {
      runTimeData: runtime,
      validationOptions: {
        validateToken: true, validateExpirationTime: true, validateNotBeforeTime: true,
        validateIssuer: true, expectedIssuer: endpoint,
      },
    });
    eq("SDK validation with validateIssuer/expectedIssuer = endpoint", res.body.issuer, endpoint);
    let threw = false;
    try {
      await client.attestSgxEnclave(quote, {
        runTimeData: runtime,
        validationOptions: {
          validateToken: true, validateIssuer: true, expectedIssuer: "https://wrong.example",
        },
      });
    } catch (e) {
      threw = /issuer/i.test(String(e.message));
    }
    check("SDK validation rejects a wrong expectedIssuer", threw);
  });

  await step("errors", async () => {
    await expectRestError("attestSgxEnclave tampered quote",
      client.attestSgxEnclave(tampered, { runTimeData: runtime }), 400, "InvalidParameter");
    await expectRestError("attestSgxEnclave unbound runtime data",
      client.attestSgxEnclave(quote, { runTimeData: runtimeJson }), 400, "InvalidParameter");
    await expectRestError("attestSgxEnclave deny-all draft policy",
      client.attestSgxEnclave(quote, { runTimeData: runtime,
                                       draftPolicyForAttestation: DENY_POLICY }),
      400, "PolicyEvaluationError");
  });

  await step("provider prefix /providers/p2", async () => {
    const p2 = new AttestationClient(`${endpoint}/providers/p2`);
    const res = await p2.attestSgxEnclave(quote, { runTimeData: runtime });
    const n = "p2 attestSgxEnclave";
    eq(`${n}: body.issuer`, res.body.issuer, `${endpoint}/providers/p2`);
    const kid = res.token.keyId;
    check(`${n}: kid is a p2 kid`, (p2jwks.keys || []).some((k) => k.kid === kid), kid);
    check(`${n}: kid differs from the default provider's`, !defaultKids.has(kid), kid);
    verifyIndependently(n, res.token.serialize(), p2jwks);
    const signers = await p2.getAttestationSigners();
    eq("p2 getAttestationSigners: keyIds = p2 /certs kids", signers.map((s) => s.keyId).sort(),
      (p2jwks.keys || []).map((k) => k.kid).sort());
  });
}

// A real SGX vector (../shared/vectors) replayed through the SDK's attestSgxEnclave by an
// attestd with the production Intel root and --fixed-time = the vector's verify_at.
async function realVector(infoPath) {
  const info = JSON.parse(fs.readFileSync(infoPath, "utf8"));
  const meta = JSON.parse(fs.readFileSync(path.join(info.evidence, "meta.json"), "utf8"));
  const quote = fs.readFileSync(path.join(info.evidence, "quote.bin"));
  const endpoint = info.base;
  const client = new AttestationClient(endpoint);
  const jwks = (await getJson(`${endpoint}/certs`)).json;
  const n = `real vector ${meta.name}`;
  /* The replay clock issues tokens as of verify_at, long expired by the wall clock: the SDK
     still checks the signature, but not the token's time window. */
  const replay = { validationOptions: { validateToken: true, validateExpirationTime: false,
                                        validateNotBeforeTime: false } };
  const res = await client.attestSgxEnclave(quote, replay);
  const body = res.token.getBody();
  verifyIndependently(n, res.token.serialize(), jwks);
  for (const [k, v] of Object.entries(meta.claims.maa_style)) {
    eq(`${n}: ${k}`, body[k], v);
  }
  eq(`${n}: x-ms-attestation-type`, body["x-ms-attestation-type"], "sgx");
  eq(`${n}: SDK body.mrEnclave`, res.body.mrEnclave,
    meta.claims.maa_style["x-ms-sgx-mrenclave"]);
  eq(`${n}: TCB status`, body["x-ms-sgx-tcb-status"], meta.verification.final_tcb_status);
  eq(`${n}: quotehash`, body["x-ms-sgx-collateral"].quotehash,
    createHash("sha256").update(quote).digest("hex"));
  const tampered = Buffer.from(quote);
  tampered[100] ^= 1; /* inside MRENCLAVE: the quote signature no longer verifies */
  await expectRestError(`${n} tampered`, client.attestSgxEnclave(tampered, replay), 400,
    "InvalidParameter");
}

main()
  .then(async () => {
    if (process.argv[3]) {
      await step("real vector through the SDK", () => realVector(process.argv[3]));
    } else {
      console.log("SKIPPED real vector through the SDK (../shared/vectors absent)");
    }
  })
  .catch((e) => check("sdk_test ran to completion", false, e && e.stack))
  .finally(() => {
    if (failures.length) console.log("failed checks:\n  " + failures.join("\n  "));
    console.log(`${passed} passed, ${failed} failed`);
    process.exitCode = failed ? 1 : 0;
  });
