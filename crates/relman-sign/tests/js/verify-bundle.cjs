// Verifies a Sigstore bundle offline with sigstore-js (@sigstore/verify), the reference
// implementation behind npm provenance: an empty trusted root, every threshold at 0, and the
// given public key for whatever hint the bundle carries (so the signature check itself decides).
//
// usage: node verify-bundle.cjs <bundle.json> <public-key.pem> [<artifact>]
//   (no artifact for a DSSE bundle)
// prints one JSON line: {"ok":true,"hint":"...","payloadType":"..."} or {"ok":false,"error":"..."}
// exit status: 0 verified, 1 refused, 2 usage.
"use strict";
const fs = require("fs");
const crypto = require("crypto");
const { bundleFromJSON } = require("@sigstore/bundle");
const { TrustedRoot } = require("@sigstore/protobuf-specs");
const { Verifier, toSignedEntity, toTrustMaterial } = require("@sigstore/verify");

const [bundlePath, keyPath, artifactPath] = process.argv.slice(2);
if (!bundlePath || !keyPath) {
  console.error("usage: node verify-bundle.cjs <bundle.json> <public-key.pem> [<artifact>]");
  process.exit(2);
}

try {
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, "utf8")));
  const publicKey = crypto.createPublicKey(fs.readFileSync(keyPath, "utf8"));
  const root = TrustedRoot.fromJSON({
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  });
  const trust = toTrustMaterial(root, () => ({ publicKey, validFor: () => true }));
  const verifier = new Verifier(trust, {
    tlogThreshold: 0,
    ctlogThreshold: 0,
    tsaThreshold: 0,
    timestampThreshold: 0,
  });
  const artifact = artifactPath ? fs.readFileSync(artifactPath) : undefined;
  const signer = verifier.verify(toSignedEntity(bundle, artifact));
  const hint = bundle.verificationMaterial.content.publicKey?.hint ?? null;
  const payloadType =
    bundle.content.$case === "dsseEnvelope" ? bundle.content.dsseEnvelope.payloadType : null;
  console.log(JSON.stringify({ ok: true, hint, payloadType, identity: signer.identity ?? null }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: `${err.name}: ${err.code ?? ""} ${err.message}` }));
  process.exit(1);
}
