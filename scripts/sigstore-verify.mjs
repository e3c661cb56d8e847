// Reference verifier for keyless Sigstore bundles: sigstore-js's @sigstore/verify (from .tools/ via
// setup-test-deps) against a trusted root such as scripts/sigstore-services.mjs writes. Requires one
// transparency-log entry (its SET's integrated time is the signing time), one embedded SCT, a
// certificate chaining to the root and valid at that time, and the signature itself.
//
// usage: node scripts/sigstore-verify.mjs --trusted-root F --bundle B [--artifact A]
//          [--identity X | --identity-regexp R] [--issuer I | --issuer-regexp R] [--ctlog-threshold N]
//   --artifact    the signed blob (a message-signature bundle needs it). For a DSSE bundle it is
//                 optional; if given, an in-toto subject must carry its sha256.
//   --identity    the certificate's SAN (URI or email), exact; --identity-regexp: a JS regexp
//                 tested against it (unanchored, like cosign's). --issuer / --issuer-regexp: the
//                 same for the OIDC issuer extension (1.3.6.1.4.1.57264.1.8, else .1.1).
//   --ctlog-threshold  embedded SCTs required (default 1; 0 for a test CA that runs no CT log,
//                 as scripts/sigstore-forge.py's)
// prints one JSON line: {"ok":true,"identity":"...","issuer":"..."} or {"ok":false,"error":"..."}
// exit status: 0 verified, 1 refused, 2 usage.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '.tools', 'package.json'));
const { bundleFromJSON } = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

const USAGE = 'usage: node scripts/sigstore-verify.mjs --trusted-root F --bundle B [--artifact A] '
  + '[--identity X | --identity-regexp R] [--issuer I | --issuer-regexp R] [--ctlog-threshold N]';
const opts = {};
const FLAGS = ['trusted-root', 'bundle', 'artifact', 'identity', 'identity-regexp', 'issuer', 'issuer-regexp',
  'ctlog-threshold'];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const name = argv[i]?.replace(/^--/, '');
  if (!argv[i]?.startsWith('--') || argv[i + 1] === undefined || name in opts || !FLAGS.includes(name)) {
    console.error(USAGE);
    process.exit(2);
  }
  opts[name] = argv[i + 1];
}
if (!opts['trusted-root'] || !opts.bundle || ('identity' in opts && 'identity-regexp' in opts)
  || ('issuer' in opts && 'issuer-regexp' in opts)) {
  console.error(USAGE);
  process.exit(2);
}
const regexps = {};
for (const name of ['identity-regexp', 'issuer-regexp']) {
  try { if (name in opts) regexps[name] = new RegExp(opts[name]); } catch (err) {
    console.error(`${USAGE}\n--${name}: ${err.message}`);
    process.exit(2);
  }
}

function check(what, actual, exact, regexp) {
  if (exact !== undefined && actual !== exact) throw new Error(`${what} mismatch: expected ${exact}, got ${actual}`);
  if (regexp && !(typeof actual === 'string' && regexp.test(actual))) {
    throw new Error(`${what} mismatch: expected a match of /${regexp.source}/, got ${actual}`);
  }
}

try {
  const root = TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(opts['trusted-root'], 'utf8')));
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(opts.bundle, 'utf8')));
  const artifact = opts.artifact === undefined ? undefined : fs.readFileSync(opts.artifact);
  const digest = artifact && crypto.createHash('sha256').update(artifact).digest();
  if (bundle.content.$case === 'messageSignature') {
    if (!artifact) throw new Error('a message-signature bundle needs --artifact');
    if (!bundle.content.messageSignature.messageDigest.digest.equals(digest)) {
      throw new Error('messageDigest is not the artifact\'s sha256');
    }
  } else if (artifact) {
    const statement = JSON.parse(bundle.content.dsseEnvelope.payload.toString('utf8'));
    const hex = digest.toString('hex');
    if (!(statement.subject ?? []).some((s) => s?.digest?.sha256 === hex)) {
      throw new Error('no in-toto subject carries the artifact\'s sha256');
    }
  }
  const verifier = new Verifier(toTrustMaterial(root), {
    tlogThreshold: 1,
    ctlogThreshold: Number(opts['ctlog-threshold'] ?? 1),
    timestampThreshold: 1,
  });
  const signer = verifier.verify(toSignedEntity(bundle, artifact));
  const identity = signer.identity?.subjectAlternativeName;
  const issuer = signer.identity?.extensions?.issuer;
  check('identity', identity, opts.identity, regexps['identity-regexp']);
  check('issuer', issuer, opts.issuer, regexps['issuer-regexp']);
  console.log(JSON.stringify({ ok: true, identity: identity ?? null, issuer: issuer ?? null }));
} catch (err) {
  const code = err.code ? `${err.code} ` : '';
  const cause = err.cause ? ` (${err.cause.message ?? err.cause})` : '';
  console.log(JSON.stringify({ ok: false, error: `${err.name}: ${code}${err.message}${cause}` }));
  process.exit(1);
}
