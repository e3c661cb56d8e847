#!/usr/bin/env python3
"""Forges a keyless release the way an attacker would, for the verification tests.

Re-signs every `.sigstore.json` bundle of a release directory (and the provenance envelope,
the documents and the manifest records that name them), so that the release is whole and
self-consistent and differs from a genuine one only in the weakness under test. The genuine
variant (`--attack none`) must verify; every other must be refused, by relman and by the
reference verifiers.

Two kinds of signer:
  * its own small Sigstore (default): a root CA, an intermediate, a code-signing leaf for
    IDENTITY, and a transparency log key, written as a trusted root (--trusted-root-out);
  * Sigstore's doubles (--fulcio URL): a genuine certificate from the Fulcio double for the
    token its OIDC service hands out (a stolen CI token), and no access to the log's key.

usage: sigstore-forge.py --dir VERSION_DIR --identity ID --issuer ISSUER --attack NAME
         [--trusted-root-out FILE] [--fulcio URL] [--replace-archive]

Attacks (what the log entries or the certificates get):
  none                 genuine: SET, inclusion proof and a checkpoint the log signed
  self-rooted          a one-leaf proof (root = leaf hash), no checkpoint, no SET
  forged-checkpoint    a proof with a checkpoint signed by another key (right hint and name)
  expired-chosen-time  an expired certificate; self-rooted proof, integratedTime chosen inside it
  late-stripped-set    an expired certificate; the log's genuine late entry with its SET removed
                       and integratedTime rewritten into the certificate's validity
  late-with-set        an expired certificate; the log's genuine late entry, SET kept
  two-entries          a genuine entry and a self-rooted one beside it
  other-origin         a checkpoint the log's key signed for another origin
  ca-false-intermediate  the intermediate has CA:FALSE
  server-auth-leaf     the leaf has keyEncipherment and EKU serverAuth only
  unknown-critical     the leaf carries an unknown critical extension
  expired-log-key      the trusted root's log key expired before the entries were made
  ca-leaf              the signing certificate says CA:TRUE
  no-keycertsign-intermediate  the intermediate's key usage lacks keyCertSign
  path-length          the root allows no intermediate (pathLen 0), and the path has one
--replace-archive swaps the first archive for an attacker's (a tar.gz keeps its files, each with
`echo pwned` appended; and rewrites
checksums.txt, index.json, the provenance subjects and manifest.json to match).
"""
import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import random
import sys
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ISSUER_OID = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
ISSUER_V1_OID = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
SCT_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
LOG_HOST = "log.forge.test"
BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def b64(b):
    return base64.b64encode(b).decode()


def sha256(b):
    return hashlib.sha256(b).digest()


def canon(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":")).encode()


def p256():
    return ec.generate_private_key(ec.SECP256R1())


def spki(key):
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def sign(key, data):
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def der_octets(raw):
    n = len(raw)
    length = bytes([n]) if n < 128 else bytes([0x82, n >> 8, n & 0xFF])
    return b"\x04" + length + raw


def der_utf8(text):
    raw = text.encode()
    assert len(raw) < 128
    return bytes([0x0C, len(raw)]) + raw


# --- the signer: its own PKI, or the Fulcio double --------------------------------------------

def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "forge"), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def ca_cert(subject, key, issuer, issuer_key, *, ca=True, path_len=None, key_cert_sign=True):
    b = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len if ca else None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=key_cert_sign, crl_sign=True, encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    return b.sign(issuer_key, hashes.SHA256())


def own_pki(identity, issuer, attack):
    root_key, inter_key, leaf_key = p256(), p256(), p256()
    root = ca_cert("forge root", root_key, "forge root", root_key, path_len=1)
    inter = ca_cert("forge intermediate", inter_key, "forge root", root_key,
                    ca=attack != "ca-false-intermediate", path_len=0,
                    key_cert_sign=attack != "no-keycertsign-intermediate")
    if attack == "path-length":
        # The root allows no intermediate below it (pathLen 0), and one is there.
        root = ca_cert("forge root", root_key, "forge root", root_key, path_len=0)
    if attack in ("expired-chosen-time", "late-stripped-set", "late-with-set"):
        start, end = NOW - dt.timedelta(minutes=30), NOW - dt.timedelta(minutes=20)
    else:
        start, end = NOW - dt.timedelta(minutes=1), NOW + dt.timedelta(minutes=10)
    server = attack == "server-auth-leaf"
    b = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(inter.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(identity)]), critical=True)
        .add_extension(x509.BasicConstraints(ca=attack == "ca-leaf", path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not server, content_commitment=False, key_encipherment=server,
                data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CODE_SIGNING]),
            critical=False,
        )
        .add_extension(x509.UnrecognizedExtension(ISSUER_V1_OID, issuer.encode()), critical=False)
        .add_extension(x509.UnrecognizedExtension(ISSUER_OID, der_utf8(issuer)), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(inter_key.public_key()), critical=False)
    )
    if attack == "unknown-critical":
        b = b.add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.7"), b"\x05\x00"),
                            critical=True)
    # An embedded SCT from the forge's CT log (RFC 6962 3.2), as Fulcio's certificates carry:
    # signed over the precertificate, the TBS without the SCT list extension (appended last).
    precert = b.sign(inter_key, hashes.SHA256())
    ct_key = p256()
    ct_id = sha256(spki(ct_key))
    ms = int(start.timestamp() * 1000) + 1000
    tbs = precert.tbs_certificate_bytes
    signed = (b"\x00\x00" + ms.to_bytes(8, "big") + (1).to_bytes(2, "big") + sha256(spki(inter_key))
              + len(tbs).to_bytes(3, "big") + tbs + b"\x00\x00")
    sig = sign(ct_key, signed)
    sct = b"\x00" + ct_id + ms.to_bytes(8, "big") + b"\x00\x00" + b"\x04\x03" + len(sig).to_bytes(2, "big") + sig
    sct_list = len(sct).to_bytes(2, "big") + sct
    sct_list = (len(sct_list)).to_bytes(2, "big") + sct_list
    leaf = b.add_extension(x509.UnrecognizedExtension(SCT_OID, der_octets(sct_list)), critical=False).sign(
        inter_key, hashes.SHA256())
    return leaf_key, leaf, [inter, root], ct_key


def fulcio_double(url, identity):
    req = urllib.request.Request(f"{url}/oidc/token?sub={identity}&audience=sigstore",
                                 headers={"Authorization": "bearer stolen"})
    token = json.load(urllib.request.urlopen(req))["value"]
    key = p256()
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    body = {
        "credentials": {"oidcIdentityToken": token},
        "publicKeyRequest": {
            "publicKey": {"algorithm": "ECDSA", "content": pem.decode()},
            "proofOfPossession": b64(sign(key, identity.encode())),
        },
    }
    req = urllib.request.Request(f"{url}/api/v2/signingCert", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    answer = json.load(urllib.request.urlopen(req))
    chain = (answer.get("signedCertificateEmbeddedSct") or answer["signedCertificateDetachedSct"])["chain"]["certificates"]
    certs = [x509.load_pem_x509_certificate(c.encode()) for c in chain]
    return key, certs[0], certs[1:]


# --- the log ------------------------------------------------------------------------------------

class Log:
    def __init__(self, key, host=LOG_HOST, log_id=None):
        self.key, self.host = key, host
        self.log_id = log_id or sha256(spki(key))

    def checkpoint(self, root, ns, origin_host=None, signer=None):
        origin_host = origin_host or self.host
        note = f"{origin_host} - {random.randrange(1, 2**48)}\n1\n{b64(root)}\nTimestamp: {ns}\n"
        sig = sign(signer or self.key, note.encode())
        return note + "\n" + f"\u2014 {origin_host} {b64(self.log_id[:4] + sig)}\n"

    def entry(self, body, kind, t, *, set_=True, checkpoint=True, origin_host=None, checkpoint_signer=None,
              rewrite_time=None):
        index = random.randrange(10_000_000)
        root = sha256(b"\x00" + body)
        e = {
            "logIndex": str(index),
            "logId": {"keyId": b64(self.log_id)},
            "kindVersion": {"kind": kind, "version": "0.0.1"},
            "integratedTime": str(rewrite_time if rewrite_time is not None else t),
        }
        if set_:
            payload = {"body": b64(body), "integratedTime": t, "logID": self.log_id.hex(), "logIndex": index}
            e["inclusionPromise"] = {"signedEntryTimestamp": b64(sign(self.key, canon(payload)))}
        proof = {"logIndex": "0", "rootHash": b64(root), "treeSize": "1", "hashes": []}
        if checkpoint:
            proof["checkpoint"] = {"envelope": self.checkpoint(root, t * 1_000_000_000, origin_host, checkpoint_signer)}
        e["inclusionProof"] = proof
        e["canonicalizedBody"] = b64(body)
        return e


def entries_for(attack, log, body, kind, leaf):
    now = int(NOW.timestamp())
    inside = int(leaf.not_valid_before_utc.timestamp()) + 60
    if attack in ("self-rooted", "expired-chosen-time"):
        return [log.entry(body, kind, inside, set_=False, checkpoint=False)]
    if attack == "forged-checkpoint":
        return [log.entry(body, kind, now, set_=False, checkpoint_signer=p256())]
    if attack == "late-stripped-set":
        return [log.entry(body, kind, now, set_=False, rewrite_time=inside)]
    if attack == "two-entries":
        return [log.entry(body, kind, now), log.entry(body, kind, inside, set_=False, checkpoint=False)]
    if attack == "other-origin":
        return [log.entry(body, kind, now, set_=False, origin_host="rekor.evil.test")]
    return [log.entry(body, kind, now)]


# --- re-signing a release -------------------------------------------------------------------------

def trojan(archive):
    """The same tar.gz with `echo pwned` appended to every regular file (modes kept)."""
    import io
    import tarfile
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as src, tarfile.open(fileobj=out, mode="w:gz") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read() + b"\necho pwned\n" if m.isfile() else None
            if data is not None:
                m.size = len(data)
            dst.addfile(m, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def cert_b64_pem(cert):
    return b64(cert.public_bytes(serialization.Encoding.PEM))


def pae(payload_type, payload):
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--identity", required=True)
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--attack", required=True)
    ap.add_argument("--trusted-root-out")
    ap.add_argument("--fulcio")
    ap.add_argument("--replace-archive", action="store_true")
    ap.add_argument("--set-version", help="rewrite the version index.json and manifest.json name")
    a = ap.parse_args()
    d = a.dir

    if a.fulcio:
        key, leaf, chain = fulcio_double(a.fulcio, a.identity)
        # The log's ID and origin are public (any genuine bundle names them); its key is out of
        # reach, so whatever the forge signs "as the log" it signs with a key of its own.
        genuine = next(n for n in sorted(os.listdir(a.dir)) if n.endswith(".sigstore.json"))
        entry = json.load(open(os.path.join(a.dir, genuine)))["verificationMaterial"]["tlogEntries"][0]
        origin = entry["inclusionProof"]["checkpoint"]["envelope"].split("\n")[0].split(" - ")[0]
        log = Log(p256(), host=origin, log_id=base64.b64decode(entry["logId"]["keyId"]))
    else:
        key, leaf, chain, ct_key = own_pki(a.identity, a.issuer, a.attack)
        log = Log(p256())
        start = NOW - dt.timedelta(days=1)
        log_valid = {"start": start.isoformat().replace("+00:00", "Z")}
        if a.attack == "expired-log-key":
            log_valid["end"] = (NOW - dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z")
        root = {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [{
                "baseUrl": f"https://{LOG_HOST}", "hashAlgorithm": "SHA2_256",
                "publicKey": {"rawBytes": b64(spki(log.key)), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                              "validFor": log_valid},
                "logId": {"keyId": b64(log.log_id)},
            }],
            "certificateAuthorities": [{
                "subject": {"organization": "forge", "commonName": "forge"}, "uri": "https://ca.forge.test",
                "certChain": {"certificates": [{"rawBytes": b64(c.public_bytes(serialization.Encoding.DER))}
                                               for c in chain]},
                "validFor": {"start": start.isoformat().replace("+00:00", "Z")},
            }],
            "ctlogs": [{
                "baseUrl": "https://ct.forge.test", "hashAlgorithm": "SHA2_256",
                "publicKey": {"rawBytes": b64(spki(ct_key)), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                              "validFor": {"start": start.isoformat().replace("+00:00", "Z")}},
                "logId": {"keyId": b64(sha256(spki(ct_key)))},
            }],
            "timestampAuthorities": [],
        }
        with open(a.trusted_root_out, "w") as f:
            json.dump(root, f, indent=2)
    leaf_der = leaf.public_bytes(serialization.Encoding.DER)

    path = lambda n: os.path.join(d, n)
    read = lambda n: open(path(n), "rb").read()
    manifest = json.loads(read("manifest.json"))
    changed = set()

    def write(n, data):
        with open(path(n), "wb") as f:
            f.write(data)
        changed.add(n)

    archives = [x["name"] for x in manifest["artifacts"] if x["kind"] == "archive"]
    if a.set_version:
        index = json.loads(read("index.json"))
        index["version"] = manifest["version"] = a.set_version
        write("index.json", json.dumps(index, indent=2).encode() + b"\n")
    if a.replace_archive:
        target = archives[0]
        old = sha256(read(target)).hex()
        evil = trojan(read(target)) if target.endswith(".tar.gz") else b"attacker's payload " + os.urandom(64)
        write(target, evil)
        new = sha256(evil).hex()
        write("checksums.txt", read("checksums.txt").replace(old.encode(), new.encode()))
        index = json.loads(read("index.json"))
        for p in index["platforms"]:
            if p["file"] == target:
                p["sha256"], p["size"] = new, len(evil)
        write("index.json", json.dumps(index, indent=2).encode() + b"\n")
    else:
        old = new = None

    # Provenance: the statement (subjects rewritten when the archive changed), re-signed.
    bundles = sorted(n for n in os.listdir(d) if n.endswith(".sigstore.json"))
    for b in bundles:
        subject = b[: -len(".sigstore.json")]
        if not subject.endswith(".intoto.jsonl"):
            continue
        env = json.loads(read(subject).decode().splitlines()[0])
        payload = base64.b64decode(env["payload"])
        if old:
            payload = payload.replace(old.encode(), new.encode())
        env = {"payload": b64(payload), "payloadType": env["payloadType"],
               "signatures": [{"keyid": "", "sig": b64(sign(key, pae(env["payloadType"], payload)))}]}
        write(subject, json.dumps(env, separators=(",", ":")).encode() + b"\n")
        if subject:
            sums = read("checksums.txt").decode().splitlines()
            digest = sha256(read(subject)).hex()
            sums = [f"{digest}  {subject}" if l.endswith(f"  {subject}") else l for l in sums]
            write("checksums.txt", ("\n".join(sums) + "\n").encode())

    def records():
        for art in manifest["artifacts"]:
            if art["name"] in changed and art["name"] != "manifest.json":
                data = read(art["name"])
                art["sha256"], art["size"] = sha256(data).hex(), len(data)

    def bundle_for(subject):
        data = read(subject)
        if subject.endswith(".intoto.jsonl"):
            env = json.loads(data.decode().splitlines()[0])
            payload = base64.b64decode(env["payload"])
            sig = base64.b64decode(env["signatures"][0]["sig"])
            body = canon({"apiVersion": "0.0.1", "kind": "dsse", "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": sha256(canon(env)).hex()},
                "payloadHash": {"algorithm": "sha256", "value": sha256(payload).hex()},
                "signatures": [{"signature": env["signatures"][0]["sig"], "verifier": cert_b64_pem(leaf)}]}})
            content = {"dsseEnvelope": {"payload": env["payload"], "payloadType": env["payloadType"],
                                        "signatures": [{"sig": b64(sig), "keyid": ""}]}}
            kind = "dsse"
        else:
            digest = sha256(data)
            sig = sign(key, data)
            body = canon({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": digest.hex()}},
                "signature": {"content": b64(sig), "publicKey": {"content": cert_b64_pem(leaf)}}}})
            content = {"messageSignature": {"messageDigest": {"algorithm": "SHA2_256", "digest": b64(digest)},
                                            "signature": b64(sig)}}
            kind = "hashedrekord"
        bundle = {"mediaType": BUNDLE_V03, "verificationMaterial": {
            "certificate": {"rawBytes": b64(leaf_der)},
            "tlogEntries": entries_for(a.attack, log, body, kind, leaf)}, **content}
        write(subject + ".sigstore.json", json.dumps(bundle).encode())

    # Every subject but the manifest, then the manifest's records, then the manifest itself.
    for b in bundles:
        subject = b[: -len(".sigstore.json")]
        if subject != "manifest.json":
            bundle_for(subject)
    records()
    write("manifest.json", json.dumps(manifest, indent=2).encode() + b"\n")
    if "manifest.json.sigstore.json" in bundles:
        bundle_for("manifest.json")
    print(json.dumps({"attack": a.attack, "resigned": len(bundles), "changed": sorted(changed)}))


if __name__ == "__main__":
    sys.exit(main())
