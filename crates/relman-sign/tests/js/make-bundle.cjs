// Writes a key-based Sigstore bundle with sigstore-js (@sigstore/bundle's builders and
// serializer), signing with Node's crypto, so relman's reader is checked against bundles it did
// not write.
//
// usage: node make-bundle.cjs message <private-key.pem> <artifact>              > bundle.json
//        node make-bundle.cjs dsse <private-key.pem> <payload-file> <payload-type> > bundle.json
"use strict";
const fs = require("fs");
const crypto = require("crypto");
const { bundleToJSON, toDSSEBundle, toMessageSignatureBundle } = require("@sigstore/bundle");

const [kind, keyPath, dataPath, payloadType] = process.argv.slice(2);
const privateKey = crypto.createPrivateKey(fs.readFileSync(keyPath, "utf8"));
const spki = crypto.createPublicKey(privateKey).export({ type: "spki", format: "der" });
const keyHint = crypto.createHash("sha256").update(spki).digest("base64");
const data = fs.readFileSync(dataPath);

function pae(type, body) {
  const t = Buffer.from(type, "utf8");
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${t.length} `),
    t,
    Buffer.from(` ${body.length} `),
    body,
  ]);
}

let bundle;
if (kind === "message") {
  const digest = crypto.createHash("sha256").update(data).digest();
  const signature = crypto.sign("sha256", data, privateKey); // DER ECDSA over sha256(data)
  bundle = toMessageSignatureBundle({ digest, signature, keyHint });
} else if (kind === "dsse") {
  const signature = crypto.sign("sha256", pae(payloadType, data), privateKey);
  bundle = toDSSEBundle({ artifact: data, artifactType: payloadType, signature, keyHint });
} else {
  console.error("usage: node make-bundle.cjs message|dsse <private-key.pem> <file> [<payload-type>]");
  process.exit(2);
}
process.stdout.write(JSON.stringify(bundleToJSON(bundle)));
