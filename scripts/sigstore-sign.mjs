// Reference signer for keyless Sigstore bundles: sigstore-js's own `sigstore` package (sign/attest,
// from .tools/ via setup-test-deps) against Fulcio + Rekor at one URL, such as
// scripts/sigstore-services.mjs serves, so relman's verifier can be tested on bundles another
// implementation made. No timestamp authority (the tlog's integrated time is the signing time).
//
// usage: node scripts/sigstore-sign.mjs --url URL --token-file F
//          (--blob FILE | --attest FILE --payload-type T) --out BUNDLE.json [--bundle-version 0.3]
//   --url          Fulcio (POST URL/api/v2/signingCert) and Rekor (POST URL/api/v1/log/entries) base URL
//   --token-file   the OIDC identity token (surrounding whitespace is trimmed)
//   --blob         message-signature bundle over the file's bytes (Rekor kind hashedrekord 0.0.1)
//   --attest       DSSE bundle with the file's bytes as payload of type --payload-type
//                  (e.g. application/vnd.in-toto+json; Rekor kind dsse 0.0.1)
//   --out          where the bundle JSON goes. What sigstore.sign/attest write (sigstore@4.1.1):
//                    --blob:   application/vnd.dev.sigstore.bundle+json;version=0.2, the leaf in
//                              verificationMaterial.x509CertificateChain (hard-wired in @sigstore/sign)
//                    --attest: application/vnd.dev.sigstore.bundle.v0.3+json, verificationMaterial.certificate
//   --bundle-version 0.3   (with --blob) a v0.3 message-signature bundle instead: the same
//                  @sigstore/sign pipeline (FulcioSigner + RekorWitness, as sigstore.sign sets them up),
//                  packaged by @sigstore/bundle's toMessageSignatureBundle with certificateChain: false
//                  (the one option sigstore.sign hard-wires to true).
// prints one JSON line: {"ok":true,"mediaType":"..."} or {"ok":false,"error":"..."}
// exit status: 0 signed, 1 failed, 2 usage.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '.tools', 'package.json'));

const USAGE = 'usage: node scripts/sigstore-sign.mjs --url URL --token-file F '
  + '(--blob FILE | --attest FILE --payload-type T) --out BUNDLE.json [--bundle-version 0.3]';
const FLAGS = ['url', 'token-file', 'blob', 'attest', 'payload-type', 'out', 'bundle-version'];
const opts = {};
const argv = process.argv.slice(2);
const usage = (why) => {
  console.error(why ? `${USAGE}\n${why}` : USAGE);
  process.exit(2);
};
for (let i = 0; i < argv.length; i += 2) {
  const name = argv[i]?.replace(/^--/, '');
  if (!argv[i]?.startsWith('--') || argv[i + 1] === undefined || name in opts || !FLAGS.includes(name)) usage();
  opts[name] = argv[i + 1];
}
if (!opts.url || !opts['token-file'] || !opts.out) usage();
if (('blob' in opts) === ('attest' in opts)) usage('give exactly one of --blob and --attest');
if (('attest' in opts) !== ('payload-type' in opts)) usage('--payload-type goes with --attest (and only with it)');
if ('bundle-version' in opts && !(opts['bundle-version'] === '0.3' && 'blob' in opts)) {
  usage('--bundle-version: only 0.3, with --blob (--attest always writes v0.3)');
}

// sigstore.sign with one change: the bundle is packaged as v0.3 (single `certificate`).
async function signV03(data, options) {
  const sigstoreRequire = createRequire(require.resolve('sigstore/package.json'));
  const { FulcioSigner, RekorWitness, MessageSignatureBundleBuilder } = sigstoreRequire('@sigstore/sign');
  const { toMessageSignatureBundle, bundleToJSON } = sigstoreRequire('@sigstore/bundle');
  const { pem, crypto } = sigstoreRequire('@sigstore/core');
  class V03Builder extends MessageSignatureBundleBuilder {
    async package(artifact, signature) {
      return toMessageSignatureBundle({
        digest: crypto.digest('sha256', artifact.data),
        signature: signature.signature,
        certificate: pem.toDER(signature.key.certificate),
        certificateChain: false,
      });
    }
  }
  const fetchOpts = { retry: options.retry, timeout: options.timeout };
  const builder = new V03Builder({
    signer: new FulcioSigner({ fulcioBaseURL: options.fulcioURL,
      identityProvider: { getToken: async () => options.identityToken }, ...fetchOpts }),
    witnesses: [new RekorWitness({ rekorBaseURL: options.rekorURL, entryType: 'dsse', fetchOnConflict: false, ...fetchOpts })],
  });
  return bundleToJSON(await builder.create({ data }));
}

try {
  const sigstore = require('sigstore');
  const token = fs.readFileSync(opts['token-file'], 'utf8').trim();
  if (!token) throw new Error(`${opts['token-file']}: empty identity token`);
  const url = opts.url.replace(/\/+$/, '');
  const options = {
    fulcioURL: url,
    rekorURL: url,
    identityToken: token,
    tlogUpload: true, // a Rekor entry (its SET/integrated time is the only timestamp)
    tsaServerURL: undefined, // no RFC 3161 timestamp
    legacyCompatibility: false, // DSSE goes to Rekor as kind dsse, not intoto
    retry: 0, // the test doubles answer at once; a failure should show, not be retried
    timeout: 10_000,
  };
  const bundle = 'attest' in opts
    ? await sigstore.attest(fs.readFileSync(opts.attest), opts['payload-type'], options)
    : opts['bundle-version'] === '0.3'
      ? await signV03(fs.readFileSync(opts.blob), options)
      : await sigstore.sign(fs.readFileSync(opts.blob), options);
  fs.writeFileSync(opts.out, `${JSON.stringify(bundle, null, 2)}\n`);
  console.log(JSON.stringify({ ok: true, mediaType: bundle.mediaType }));
} catch (err) {
  const code = err.code && !String(err.message).startsWith(err.code) ? `${err.code} ` : '';
  const cause = err.cause ? ` (${err.cause.message ?? err.cause})` : '';
  console.log(JSON.stringify({ ok: false, error: `${err.name}: ${code}${err.message}${cause}` }));
  process.exit(1);
}
