// Sigstore service doubles on one loopback HTTP server, for the keyless-signing tests: Fulcio v2,
// Rekor v1 and a GitHub-Actions-like OIDC token endpoint. The certificate authority, CT log and
// transparency log are sigstore-js's own (@sigstore/mock, from .tools/ via setup-test-deps),
// freshly keyed per process; this wrapper adds what the mock leaves out and real services do.
//
// usage: node scripts/sigstore-services.mjs [--dir DIR] [--ignore-stdin]
//   Listens on 127.0.0.1:<free port>, writes DIR/trusted_root.json (DIR defaults to a new temp
//   dir, removed again on exit), then prints one line: {"url":"http://127.0.0.1:PORT","trusted_root":"..."}
//   and serves until SIGTERM/SIGINT or until stdin ends (so a dead test harness can't leak it;
//   spawn it with a piped stdin and keep that open, or pass --ignore-stdin).
//
// Endpoints (all under the printed url):
//   POST /api/v2/signingCert      Fulcio. The wrapper checks, like real Fulcio, the token (our ES256
//                                 signature, iss = <url>/oidc, aud contains "sigstore", exp, nbf; else
//                                 401) and the proof of possession (ECDSA-SHA256 over the token's
//                                 `sub`; else 400), then the mock issues: SAN URI = `sub`, 10 min
//                                 validity, embedded SCT, chain [leaf, root].
//   POST /api/v1/log/entries      Rekor: kinds hashedrekord 0.0.1 and dsse 0.0.1 only. The wrapper
//                                 canonicalizes the entry as real Rekor stores it (dsse: verifies the
//                                 envelope, keeps hashes + signatures), the mock signs the SET and a
//                                 one-leaf inclusion proof. 201 + Location; an identical entry again
//                                 gives 409 + Location: /api/v1/log/entries/<uuid> (uuid = leaf hash).
//   GET  /api/v1/log/entries/ID   the stored entry (200) or 404.
//   POST /api/v1/timestamp        an RFC 3161 timestamp authority (the mock's, as Sigstore's
//                                 timestamp-authority answers JSON requests): body
//                                 {"artifactHash":"<base64>","hashAlgorithm":"sha256"}, answer the
//                                 DER TimeStampResp (201, application/timestamp-reply). Its chain
//                                 is the trusted root's timestampAuthorities entry.
//   GET  /oidc/token?audience=A[&sub=S][&exp_in=SECONDS]   needs `Authorization: bearer <any>`;
//                                 answers {"count":1,"value":"<JWT>"} like ACTIONS_ID_TOKEN_REQUEST_URL.
//   GET  /oidc/.well-known/openid-configuration, /oidc/jwks
//   GET  /__stats                 {"fulcio":N,"rekor_post":N,"rekor_get":N,"oidc":N} (every request
//                                 received, injected failures included; oidc counts /oidc/token only)
//   POST /__fail                  {"fulcio":N,"rekor":N,"oidc":N}: the next N requests to that
//                                 service (rekor: POST and GET) answer 503.
//   POST /__clock                 {"rekor_offset":SECONDS} (an integer, may be negative; omitted = unchanged;
//                                 initially 0): every following new Rekor entry is integrated at
//                                 now + SECONDS. integratedTime, the SET and the checkpoint (its
//                                 `Timestamp:` line and signature) all carry the shifted time, so the
//                                 entry is genuine, only late/early (e.g. 900 = after the 10-minute
//                                 certificate expired). Answers {"rekor_offset":N}. 400 if not an integer,
//                                 or if now + SECONDS would precede the log key's validFor.start
//                                 (startup - 60 s) in trusted_root.json. Stored entries keep their time.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '.tools', 'package.json'));
const mock = require('@sigstore/mock');

const args = process.argv.slice(2);
let dir;
let watchStdin = true;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--dir' && args[i + 1]) dir = path.resolve(args[++i]);
  else if (args[i] === '--ignore-stdin') watchStdin = false;
  else {
    console.error('usage: node scripts/sigstore-services.mjs [--dir DIR] [--ignore-stdin]');
    process.exit(2);
  }
}
const ownDir = !dir;
dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'sigstore-services-'));
fs.mkdirSync(dir, { recursive: true });

const p256 = () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const [caKeys, ctKeys, tlogKeys, oidcKeys, tsaKeys] = [p256(), p256(), p256(), p256(), p256()];
const spki = (keys) => keys.publicKey.export({ type: 'spki', format: 'der' });
const sha256 = (...parts) => parts.reduce((h, p) => h.update(p), crypto.createHash('sha256')).digest();
const b64u = (b) => Buffer.from(b).toString('base64url');
const oidcKid = b64u(sha256(spki(oidcKeys))).slice(0, 16);

// RFC 8785 canonical JSON for the plain values used here (strings, integers, objects, arrays).
const canon = (v) =>
  Array.isArray(v) ? `[${v.map(canon).join(',')}]`
  : v && typeof v === 'object'
    ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon(v[k])}`).join(',')}}`
    : JSON.stringify(v);

const stats = { fulcio: 0, rekor_post: 0, rekor_get: 0, oidc: 0 };
const failNext = { fulcio: 0, rekor: 0, oidc: 0 };
const clock = { rekor_offset: 0 };
let logStartMs; // the tlog key's validFor.start in trusted_root.json
const entries = new Map(); // uuid -> {"<uuid>": entry} as answered
let url, issuer, fulcio, rekor, tsa;
const tsaClock = new Date();

class HttpError extends Error {
  constructor(status, body) { super(body.message); this.status = status; this.body = body; }
}
// Real Fulcio (grpc-gateway) error bodies: {"code":<grpc code>,"message":...,"details":[]}.
const fulcioError = (status, grpcCode, message) =>
  new HttpError(status, { code: grpcCode, message, details: [] });
// Real Rekor error bodies: {"code":<http status>,"message":...}.
const rekorError = (status, message) => new HttpError(status, { code: status, message });

function signJwt(claims) {
  const input = `${b64u(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: oidcKid }))}.${b64u(JSON.stringify(claims))}`;
  const sig = crypto.sign('sha256', Buffer.from(input), { key: oidcKeys.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64u(sig)}`;
}

// What real Fulcio's OIDC check refuses, each a 401 with one generic message (reason on stderr).
function checkToken(token) {
  const refuse = (why) => {
    console.error(`sigstore-services: fulcio: refusing token: ${why}`);
    return fulcioError(401, 16, 'There was an error processing the identity token');
  };
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3) throw refuse('not a JWT');
  let header, claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url'));
  } catch { throw refuse('undecodable JWT'); }
  if (header.alg !== 'ES256' || header.kid !== oidcKid) throw refuse(`unknown key ${header.alg}/${header.kid}`);
  const signed = crypto.verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`),
    { key: oidcKeys.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2], 'base64url'));
  if (!signed) throw refuse('bad JWT signature');
  if (claims.iss !== issuer) throw refuse(`unknown issuer ${claims.iss}`);
  const aud = [].concat(claims.aud ?? []);
  if (!aud.includes('sigstore')) throw refuse(`audience ${JSON.stringify(claims.aud)} is not "sigstore"`);
  const now = Date.now() / 1000;
  if (!(claims.exp > now)) throw refuse(`expired at ${claims.exp} (now ${Math.floor(now)})`);
  if (claims.nbf > now + 300) throw refuse('not valid yet');
  if (typeof claims.sub !== 'string' || !claims.sub) throw refuse('no sub');
  return claims;
}

async function signingCert(body) {
  let req;
  try { req = JSON.parse(body); } catch { throw fulcioError(400, 3, 'The request body is not JSON'); }
  const claims = checkToken(req?.credentials?.oidcIdentityToken);
  const pkr = req.publicKeyRequest;
  if (pkr) {
    let key;
    try { key = crypto.createPublicKey(pkr.publicKey?.content); } catch {
      throw fulcioError(400, 3, 'The public key supplied in the request could not be parsed');
    }
    const pop = Buffer.from(String(pkr.proofOfPossession ?? ''), 'base64');
    let ok = false;
    try { ok = crypto.verify('sha256', Buffer.from(claims.sub), key, pop); } catch { /* ok stays false */ }
    if (!ok) throw fulcioError(400, 3, 'The signature supplied in the request could not be verified');
  } else if (!req.certificateSigningRequest) {
    throw fulcioError(400, 3, 'There was an error processing the public key request');
  }
  return fulcio.fn(body); // CSR requests go to the mock as they are (its CSR signature unchecked)
}

// A PEM certificate or public key as real Rekor re-encodes it (its "canonical value").
function canonicalKey(b64) {
  const pem = Buffer.from(String(b64 ?? ''), 'base64').toString('utf8');
  try {
    if (pem.includes('CERTIFICATE')) {
      const cert = new crypto.X509Certificate(pem);
      return { pem: cert.toString(), key: cert.publicKey };
    }
    const key = crypto.createPublicKey(pem);
    return { pem: key.export({ type: 'spki', format: 'pem' }), key };
  } catch { throw rekorError(400, 'could not parse public key / certificate'); }
}

const pae = (type, payload) => Buffer.concat([
  Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${payload.length} `), payload]);

// The body real Rekor would store for a proposed entry (which the mock would log verbatim).
function canonicalEntry(e) {
  const hex = /^[0-9a-f]+$/;
  if (e?.kind === 'hashedrekord' && e.apiVersion === '0.0.1') {
    const { data, signature } = e.spec ?? {};
    const alg = data?.hash?.algorithm, value = String(data?.hash?.value ?? '').toLowerCase();
    const len = { sha256: 64, sha384: 96, sha512: 128 }[alg];
    if (!len || value.length !== len || !hex.test(value)) throw rekorError(400, 'invalid spec.data.hash');
    if (!signature?.content) throw rekorError(400, 'missing spec.signature.content');
    const { pem } = canonicalKey(signature.publicKey?.content);
    return { apiVersion: '0.0.1', kind: 'hashedrekord', spec: {
      data: { hash: { algorithm: alg, value } },
      signature: { content: signature.content, publicKey: { content: Buffer.from(pem).toString('base64') } } } };
  }
  if (e?.kind === 'dsse' && e.apiVersion === '0.0.1') {
    const { envelope, verifiers } = e.spec?.proposedContent ?? {};
    if (typeof envelope !== 'string' || !Array.isArray(verifiers) || !verifiers.length) {
      throw rekorError(400, 'spec.proposedContent needs envelope (a JSON string) and verifiers');
    }
    let env;
    try { env = JSON.parse(envelope); } catch { throw rekorError(400, 'envelope is not JSON'); }
    const payload = Buffer.from(String(env.payload ?? ''), 'base64');
    const keys = verifiers.map(canonicalKey);
    if (!Array.isArray(env.signatures) || !env.signatures.length) throw rekorError(400, 'envelope has no signatures');
    const signatures = env.signatures.map(({ sig }) => {
      const by = keys.find(({ key }) => {
        try { return crypto.verify('sha256', pae(String(env.payloadType), payload), key, Buffer.from(sig, 'base64')); }
        catch { return false; }
      });
      if (!by) throw rekorError(400, 'could not verify envelope: all signatures must have a key that verifies it');
      return { signature: sig, verifier: Buffer.from(by.pem).toString('base64') };
    }).sort((a, b) => (a.signature < b.signature ? -1 : a.signature > b.signature ? 1 : 0));
    return { apiVersion: '0.0.1', kind: 'dsse', spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256(envelope).toString('hex') },
      payloadHash: { algorithm: 'sha256', value: sha256(payload).toString('hex') },
      signatures } };
  }
  throw rekorError(400, `unsupported entry kind/apiVersion in this double: ${e?.kind}/${e?.apiVersion}`);
}

async function createEntry(body) {
  let proposed;
  try { proposed = JSON.parse(body); } catch { throw rekorError(400, 'the request body is not JSON'); }
  const entry = canonicalEntry(proposed);
  const uuid = sha256(Buffer.from([0]), canon(entry)).toString('hex'); // RFC 6962 leaf hash
  const location = `/api/v1/log/entries/${uuid}`;
  if (entries.has(uuid)) {
    throw Object.assign(rekorError(409, `An equivalent entry already exists in the transparency log with UUID ${uuid}`),
      { headers: { Location: location } });
  }
  const res = await rekor.fn(JSON.stringify(entry));
  if (res.statusCode !== 201) throw rekorError(res.statusCode, String(res.response));
  if (entries.has(uuid)) return createEntry(body); // an identical request won the race: answer 409
  const stored = { [uuid]: Object.values(JSON.parse(res.response))[0] }; // the mock's uuid is random
  entries.set(uuid, stored);
  return { status: 201, body: stored, headers: { Location: location, ETag: uuid } };
}

function oidcToken(q, headers) {
  if (!/^bearer\s+\S/i.test(headers.authorization ?? '')) {
    throw new HttpError(401, { message: 'Bad credentials: missing bearer token' });
  }
  const repo = 'octo-org/octo-repo', ref = 'refs/tags/v1.0.0', sha = 'a'.repeat(40);
  const exp = Math.floor(Date.now() / 1000) + Number(q.get('exp_in') ?? 300);
  const iat = exp - 300;
  const claims = {
    jti: crypto.randomUUID(), sub: q.get('sub') ?? `repo:${repo}:ref:${ref}`,
    aud: q.get('audience') ?? 'https://github.com/octo-org', ref, sha, repository: repo,
    repository_id: '100000001', repository_owner: 'octo-org', repository_owner_id: '100000002',
    repository_visibility: 'public', run_id: '4242', run_number: '7', run_attempt: '1',
    actor: 'octocat', actor_id: '100000003', workflow: 'release', event_name: 'push', ref_type: 'tag',
    workflow_ref: `${repo}/.github/workflows/release.yml@${ref}`, workflow_sha: sha,
    job_workflow_ref: `${repo}/.github/workflows/release.yml@${ref}`, job_workflow_sha: sha,
    runner_environment: 'github-hosted', iss: issuer, nbf: iat, iat, exp,
  };
  return { count: 1, value: signJwt(claims) };
}

async function route(req, body) {
  const u = new URL(req.url, url);
  const key = `${req.method} ${u.pathname}`;
  const service = (name, counter) => {
    stats[counter]++;
    if (failNext[name] > 0) {
      failNext[name]--;
      throw new HttpError(503, { code: 503, message: `injected ${name} failure` });
    }
  };
  if (key === 'POST /api/v2/signingCert') {
    service('fulcio', 'fulcio');
    const r = await signingCert(body);
    return { status: r.statusCode, raw: r.response, type: r.contentType || 'text/plain' };
  }
  if (key === 'POST /api/v1/timestamp') {
    tsaClock.setTime(Math.floor(Date.now() / 1000) * 1000);
    const r = await tsa.fn(Buffer.from(body));
    return { status: r.statusCode, raw: r.response, type: r.contentType || 'text/plain' };
  }
  if (key === 'POST /api/v1/log/entries') { service('rekor', 'rekor_post'); return createEntry(body); }
  const get = req.method === 'GET' && u.pathname.match(/^\/api\/v1\/log\/entries\/([0-9a-f]{64}|[0-9a-f]{80})$/);
  if (get) {
    service('rekor', 'rekor_get');
    const stored = entries.get(get[1].slice(-64)); // accepts the 80-hex "entry ID" form too
    if (!stored) throw rekorError(404, `entry ${get[1]} not found`);
    return { status: 200, body: stored };
  }
  if (key === 'GET /oidc/token') {
    service('oidc', 'oidc');
    return { status: 200, body: oidcToken(u.searchParams, req.headers) };
  }
  if (key === 'GET /oidc/.well-known/openid-configuration') {
    return { status: 200, body: {
      issuer, jwks_uri: `${issuer}/jwks`, subject_types_supported: ['public', 'pairwise'],
      response_types_supported: ['id_token'], id_token_signing_alg_values_supported: ['ES256'],
      scopes_supported: ['openid'], claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'ref',
        'sha', 'repository', 'repository_owner', 'run_id', 'job_workflow_ref', 'workflow_ref', 'event_name'] } };
  }
  if (key === 'GET /oidc/jwks') {
    const jwk = { ...oidcKeys.publicKey.export({ format: 'jwk' }), kid: oidcKid, alg: 'ES256', use: 'sig' };
    return { status: 200, body: { keys: [jwk] } };
  }
  if (key === 'GET /__stats') return { status: 200, body: stats };
  if (key === 'POST /__fail') {
    let want;
    try { want = JSON.parse(body || '{}'); } catch { throw new HttpError(400, { code: 400, message: 'not JSON' }); }
    for (const name of Object.keys(failNext)) if (Number.isInteger(want[name])) failNext[name] = want[name];
    return { status: 200, body: failNext };
  }
  if (key === 'POST /__clock') {
    let want;
    try { want = JSON.parse(body || '{}'); } catch { throw new HttpError(400, { code: 400, message: 'not JSON' }); }
    const off = want?.rekor_offset;
    if (off !== undefined) {
      if (!Number.isSafeInteger(off)) throw new HttpError(400, { code: 400, message: 'rekor_offset must be an integer (seconds)' });
      if (Math.floor((Date.now() + off * 1000) / 1000) * 1000 < logStartMs) {
        throw new HttpError(400, { code: 400, message:
          `rekor_offset ${off} would integrate entries before the log key's validFor.start ${new Date(logStartMs).toISOString()}` });
      }
      clock.rekor_offset = off;
    }
    return { status: 200, body: clock };
  }
  throw new HttpError(404, { code: 404, message: `no route for ${key}` });
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    let out;
    try {
      out = await route(req, Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      if (!(err instanceof HttpError)) console.error('sigstore-services:', err);
      out = err instanceof HttpError
        ? { status: err.status, body: err.body, headers: err.headers }
        : { status: 500, body: { code: 500, message: String(err?.message ?? err) } };
    }
    const raw = out.raw ?? JSON.stringify(out.body);
    res.writeHead(out.status, { 'Content-Type': out.type ?? 'application/json', ...out.headers });
    res.end(raw);
  });
});

server.listen(0, '127.0.0.1', async () => {
  url = `http://127.0.0.1:${server.address().port}`;
  issuer = `${url}/oidc`;
  const ctlog = await mock.initializeCTLog(ctKeys);
  const ca = await mock.initializeCA(caKeys, ctlog);
  fulcio = mock.fulcioHandler(ca);
  // The mock's TLog reads its clock's getTime() once per entry and uses that one value for
  // integratedTime, the SET and the checkpoint, so shifting it here keeps them all consistent.
  const rekorClock = { getTime: () => Date.now() + clock.rekor_offset * 1000 };
  rekor = mock.rekorHandler(await mock.initializeTLog(url, tlogKeys, rekorClock));
  // The mock stamps with its clock's milliseconds, a fraction of a second in genTime that
  // RFC 3161 allows and sigstore-js's reader refuses ("invalid time"): this one Date, set to the
  // whole second before each request, is the TSA's clock.
  const tsaImpl = await mock.initializeTSA(tsaKeys, tsaClock);
  tsa = mock.tsaHandler(tsaImpl);

  // Logs are valid from a minute ago: integratedTime is whole seconds, so it may precede startup.
  logStartMs = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  const start = new Date(logStartMs).toISOString();
  const log = (keys) => ({
    baseUrl: url, hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: spki(keys).toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
    logId: { keyId: sha256(spki(keys)).toString('base64') },
  });
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [log(tlogKeys)],
    certificateAuthorities: [{
      subject: { organization: 'sigstore.mock', commonName: 'sigstore' }, uri: url,
      certChain: { certificates: [{ rawBytes: ca.rootCertificate.toString('base64') }] },
      validFor: { start: new Date(new crypto.X509Certificate(ca.rootCertificate).validFrom).toISOString() },
    }],
    ctlogs: [log(ctKeys)],
    timestampAuthorities: [{
      subject: { organization: 'sigstore.mock', commonName: 'tsa' }, uri: `${url}/api/v1/timestamp`,
      certChain: { certificates: [tsaImpl.intCertificate, tsaImpl.rootCertificate].map(
        (c) => ({ rawBytes: Buffer.from(c).toString('base64') })) },
      validFor: { start: new Date(new crypto.X509Certificate(Buffer.from(tsaImpl.rootCertificate)).validFrom).toISOString() },
    }],
  };
  const trustedRootPath = path.join(dir, 'trusted_root.json');
  fs.writeFileSync(trustedRootPath, `${JSON.stringify(trustedRoot, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify({ url, trusted_root: trustedRootPath })}\n`);
});

const stop = () => {
  if (ownDir) fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (watchStdin) {
  process.stdin.on('end', stop).on('close', stop).on('error', stop);
  process.stdin.resume();
}
