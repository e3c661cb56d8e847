#!/usr/bin/env python3
"""Reference verifier: sigstore-python (PyPI `sigstore`) on one keyless bundle, offline, against
a trusted root, by identity and issuer.

usage: sigstore-python-verify.py --trusted-root F --bundle B --artifact A --identity X --issuer I
  For a DSSE bundle --artifact is ignored (the envelope is verified, its statement returned).
prints one JSON line: {"ok": true} or {"ok": false, "error": "..."}; exit 0 verified, 1 refused.
"""
import argparse
import json
import sys

from sigstore.models import Bundle, TrustedRoot
from sigstore.verify import Verifier, policy


def main():
    ap = argparse.ArgumentParser()
    for flag in ("--trusted-root", "--bundle", "--artifact", "--identity", "--issuer"):
        ap.add_argument(flag, required=flag != "--artifact")
    a = ap.parse_args()
    try:
        root = TrustedRoot.from_file(a.trusted_root)
        bundle = Bundle.from_json(open(a.bundle, "rb").read())
        verifier = Verifier(trusted_root=root)
        who = policy.Identity(identity=a.identity, issuer=a.issuer)
        if bundle._inner.dsse_envelope is not None:
            verifier.verify_dsse(bundle, who)
        else:
            verifier.verify_artifact(open(a.artifact, "rb").read(), bundle, who)
    except Exception as e:  # every refusal, whatever its class, is a verdict
        print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}))
        return 1
    print(json.dumps({"ok": True}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
