#!/usr/bin/env python3
"""Known-answer vectors for ferry's native-v2 record layer (docs/protocol.md §4.1),
computed from the specification with an independent implementation: the
`cryptography` package (OpenSSL's HKDF, AES-256-GCM and ChaCha20-Poly1305).

Run with the peers' venv (interop/install-peers.sh), which has `cryptography`:
    ~/.cache/ferry-peers/venv/bin/python test-vectors/native_records.py \
        > test-vectors/native-records.json
"""

import hashlib
import json
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

EPOCH_RECORDS = 1 << 14
CIPHERS = {"aes-256-gcm": AESGCM, "chacha20-poly1305": ChaCha20Poly1305}


def hkdf(ikm, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(ikm)


def record_key(transit_key, author, cipher, number):
    base = hkdf(transit_key, f"ferry.native-v2.record.{author}.{cipher}".encode())
    return hkdf(base, b"ferry.native-v2.epoch" + struct.pack(">Q", number // EPOCH_RECORDS))


def frame(transit_key, author, cipher, number, plaintext):
    prefix = struct.pack(">I", len(plaintext) + 16)
    nonce = b"\0" * 4 + struct.pack(">Q", number)
    aead = CIPHERS[cipher](record_key(transit_key, author, cipher, number))
    return prefix + aead.encrypt(nonce, plaintext, prefix)


def main():
    transit_key = hashlib.sha256(b"ferry native-v2 record test key").digest()
    cases = []
    for cipher in CIPHERS:
        for author in ("sender", "receiver"):
            for number, plaintext in [(0, b""), (1, b"hello, ferry"), (2, bytes(range(256)) * 5),
                                      (EPOCH_RECORDS - 1, b"last of epoch 0"),
                                      (EPOCH_RECORDS, b"first of epoch 1")]:
                cases.append({
                    "cipher": cipher, "author": author, "number": number,
                    "plaintext": plaintext.hex(),
                    "frame": frame(transit_key, author, cipher, number, plaintext).hex(),
                })
    print(json.dumps({"transit_key": transit_key.hex(), "epoch_records": EPOCH_RECORDS,
                      "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
