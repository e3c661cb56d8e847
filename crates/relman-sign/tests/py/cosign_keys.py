"""An independent implementation of cosign's key files, for relman's interop tests.

Written from cosign's and go-securesystemslib's sources (pkg/cosign/keys.go, encrypted/encrypted.go),
not from relman's code: Python's `cryptography` for P-256 and PKCS#8, `hashlib.scrypt` for the KDF,
PyNaCl for the secretbox.

usage (the passphrase is read from the environment variable RELMAN_TEST_PASSPHRASE, empty if unset):
  cosign_keys.py make LABEL N KEY_OUT PUB_OUT   write a new encrypted key pair
  cosign_keys.py public KEY                      decrypt KEY, print its SPKI `PUBLIC KEY` PEM
  cosign_keys.py sign KEY FILE                   print base64 DER ECDSA over sha256(FILE)
  cosign_keys.py verify PUB FILE SIG             exit 0 if the base64 SIG (text or @path) verifies
"""

import base64
import hashlib
import json
import os
import sys

import nacl.secret
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

LABELS = ("ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY")
COSTS = (32768, 65536, 131072)


def passphrase():
    return os.environ.get("RELMAN_TEST_PASSPHRASE", "").encode()


def pem_block(label, der):
    body = base64.b64encode(der).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, "\n".join(lines), label)


def read_pem(text):
    lines = [l.strip() for l in text.strip().splitlines()]
    begin, end = lines[0], lines[-1]
    assert begin.startswith("-----BEGIN ") and begin.endswith("-----"), begin
    label = begin[len("-----BEGIN ") : -len("-----")]
    assert end == "-----END %s-----" % label, end
    return label, base64.b64decode("".join(lines[1:-1]))


def encrypt(der, password, n):
    salt = os.urandom(32)
    nonce = os.urandom(24)
    key = hashlib.scrypt(password, salt=salt, n=n, r=8, p=1, dklen=32, maxmem=512 * 1024 * 1024)
    sealed = nacl.secret.SecretBox(key).encrypt(der, nonce).ciphertext  # 16-byte tag first
    body = {
        "kdf": {
            "name": "scrypt",
            "params": {"N": n, "r": 8, "p": 1},
            "salt": base64.b64encode(salt).decode(),
        },
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(sealed).decode(),
    }
    # Go's json.Marshal: compact, fields in struct order.
    return json.dumps(body, separators=(",", ":")).encode()


def decrypt(path, password):
    label, body = read_pem(open(path).read())
    if label not in LABELS:
        sys.exit("%s: unexpected PEM label %r" % (path, label))
    data = json.loads(body)
    assert data["kdf"]["name"] == "scrypt" and data["cipher"]["name"] == "nacl/secretbox", data
    params = data["kdf"]["params"]
    assert params["N"] in COSTS and params["r"] == 8 and params["p"] == 1, params
    key = hashlib.scrypt(
        password,
        salt=base64.b64decode(data["kdf"]["salt"]),
        n=params["N"],
        r=8,
        p=1,
        dklen=32,
        maxmem=512 * 1024 * 1024,
    )
    der = nacl.secret.SecretBox(key).decrypt(
        base64.b64decode(data["ciphertext"]), base64.b64decode(data["cipher"]["nonce"])
    )
    return serialization.load_der_private_key(der, password=None)


def public_pem(public_key):
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def main(argv):
    cmd, args = argv[0], argv[1:]
    if cmd == "make":
        label, n, key_out, pub_out = args
        assert label in LABELS and int(n) in COSTS
        private = ec.generate_private_key(ec.SECP256R1())
        der = private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        with open(key_out, "w") as f:
            f.write(pem_block(label, encrypt(der, passphrase(), int(n))))
        with open(pub_out, "w") as f:
            f.write(public_pem(private.public_key()))
    elif cmd == "public":
        (key,) = args
        sys.stdout.write(public_pem(decrypt(key, passphrase()).public_key()))
    elif cmd == "sign":
        key, path = args
        private = decrypt(key, passphrase())
        sig = private.sign(open(path, "rb").read(), ec.ECDSA(hashes.SHA256()))
        sys.stdout.write(base64.b64encode(sig).decode())
    elif cmd == "verify":
        pub, path, sig = args
        if sig.startswith("@"):
            sig = open(sig[1:]).read()
        public = serialization.load_pem_public_key(open(pub, "rb").read())
        try:
            public.verify(
                base64.b64decode(sig.strip()), open(path, "rb").read(), ec.ECDSA(hashes.SHA256())
            )
        except InvalidSignature:
            print("invalid signature")
            return 1
        print("verified")
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
