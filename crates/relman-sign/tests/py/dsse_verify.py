"""Verifies a DSSE envelope with securesystemslib, for relman's interop tests.

usage: dsse_verify.py ENVELOPE.json PUBLIC_KEY.pem
  ENVELOPE.json may hold one envelope or be a .intoto.jsonl file (every line is checked).
prints one JSON line per envelope, {"ok": true, "payloadType": ..., "payload": <decoded text>}
or {"ok": false, "error": ...}; exit status 0 when every envelope verified, 1 otherwise.
"""

import json
import sys

from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey


def main(envelope_path, key_path):
    pem = open(key_path).read()
    # keyid "" matches the envelope's empty keyid (relman's and cosign's key-based envelopes).
    key = SSlibKey("", "ecdsa", "ecdsa-sha2-nistp256", {"public": pem})
    status = 0
    for line in open(envelope_path).read().splitlines():
        if not line.strip():
            continue
        envelope = Envelope.from_dict(json.loads(line))
        try:
            verified = envelope.verify([key], 1)
            assert list(verified) == [""], verified
            print(json.dumps({"ok": True, "payloadType": envelope.payload_type,
                              "payload": envelope.pae().decode("utf-8", "replace")}))
        except VerificationError as e:
            print(json.dumps({"ok": False, "error": str(e)}))
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
