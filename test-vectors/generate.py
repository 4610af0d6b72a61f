#!/usr/bin/env python3
"""Known-answer vectors for ferry-proto, produced by the real Python implementation.

Every value comes from the library code that Python magic-wormhole 0.24.0 runs:
python-spake2 (SPAKE2_Symmetric), wormhole._key (derive_key, derive_phase_key),
wormhole.transit (handshakes, HKDF), PyNaCl SecretBox and wormhole._wordlist.
Inputs are fixed, so the output is reproducible byte for byte.

Run with the peers' venv (interop/install-peers.sh):
    ~/.cache/ferry-peers/venv/bin/python test-vectors/generate.py > test-vectors/wormhole-kat.json
"""

import hashlib
import json
import sys
import unicodedata
from binascii import hexlify, unhexlify
from importlib.metadata import version

from nacl.secret import SecretBox
from spake2 import SPAKE2_Symmetric

import wormhole._wordlist as wordlist_module
from wormhole import transit
from wormhole._key import derive_key, derive_phase_key
from wormhole.util import HKDF, dict_to_bytes, to_bytes

DEFAULT_APPID = "lothar.com/wormhole/text-or-file-xfer"


def h(b):
    return hexlify(b).decode("ascii")


def fixed(label, n):
    """n pseudo-random but reproducible bytes."""
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(f"{label}/{counter}".encode()).digest()
        counter += 1
    return out[:n]


def entropy_source(data):
    """An entropy_f for python-spake2 that hands out `data` once."""
    calls = []

    def entropy_f(n):
        assert not calls and n == len(data), (calls, n)
        calls.append(n)
        return data

    return entropy_f


def pake_message(code, appid, entropy):
    sp = SPAKE2_Symmetric(to_bytes(code), idSymmetric=to_bytes(appid),
                          entropy_f=entropy_source(entropy))
    return sp, sp.start()


def seal(key, nonce, plaintext):
    return bytes(SecretBox(key).encrypt(plaintext, nonce))


def phase_vectors(key, label, phases):
    out = []
    for i, (side, phase, plaintext) in enumerate(phases):
        phase_key = derive_phase_key(key, side, phase)
        nonce = fixed(f"{label}/nonce/{i}", SecretBox.NONCE_SIZE)
        out.append({
            "side": side,
            "phase": phase,
            "phase_key": h(phase_key),
            "nonce": h(nonce),
            "plaintext": h(plaintext),
            "body": h(seal(phase_key, nonce, plaintext)),
        })
    return out


def record_key(tk, purpose):
    return HKDF(tk, SecretBox.KEY_SIZE, CTXinfo=purpose)


def transit_vectors(key, appid, relay_side, records):
    # What Python's CLI does is always the default appid (bug #339); Rust and Go use
    # the real one. The vectors follow the appid of the case so both are covered.
    tk = derive_key(key, to_bytes(appid + "/transit-key"), SecretBox.KEY_SIZE)
    sender_key = record_key(tk, b"transit_record_sender_key")
    out_records = []
    for seqnum, plaintext in records:
        nonce = unhexlify(("%048x" % seqnum).encode("ascii"))
        body = seal(sender_key, nonce, plaintext)
        out_records.append({
            "seqnum": str(seqnum),
            "nonce": h(nonce),
            "plaintext": h(plaintext),
            "body": h(body),
            "frame": h(len(body).to_bytes(4, "big") + body),
        })
    return {
        "transit_key": h(tk),
        "sender_handshake": transit.build_sender_handshake(tk).decode("ascii"),
        "receiver_handshake": transit.build_receiver_handshake(tk).decode("ascii"),
        "relay_side": relay_side,
        "relay_handshake": transit.build_sided_relay_handshake(tk, relay_side).decode("ascii"),
        "subkeys": {p: h(HKDF(tk, 32, CTXinfo=p.encode("ascii"))) for p in (
            "transit_sender", "transit_receiver", "transit_relay_token",
            "transit_record_sender_key", "transit_record_receiver_key")},
        "sender_records": out_records,
    }


CASES = [
    {
        "name": "protocol digest 2.9",
        "code": "4-purple-sausages",
        "appid": DEFAULT_APPID,
        "entropy_a": bytes([0x11]) * 64,
        "entropy_b": bytes([0x22]) * 64,
        "relay_side": "abcdef0123456789",
    },
    {
        "name": "two words, non-palindromic entropy",
        "code": "7-guitarist-revenge",
        "appid": DEFAULT_APPID,
        "entropy_a": fixed("guitarist/a", 64),
        "entropy_b": fixed("guitarist/b", 64),
        "relay_side": "0123456789abcdef",
    },
    {
        "name": "zero nameplate, short password, ssh appid",
        "code": "0-a",
        "appid": "lothar.com/wormhole/ssh-add",
        "entropy_a": fixed("short/a", 64),
        "entropy_b": fixed("short/b", 64),
        "relay_side": "ffffffffffffffff",
    },
    {
        "name": "long code with capitals",
        "code": "123456-crossover-clockwork-uproot-Atlantic-tycoon",
        "appid": "piegames.de/wormhole/port-forwarding",
        "entropy_a": fixed("long/a", 64),
        "entropy_b": fixed("long/b", 64),
        "relay_side": "5a5a5a5a5a5a5a5a",
    },
    {
        # Already NFC, so Python's normalisation leaves the bytes alone and a
        # client that takes raw UTF-8 (Rust, Go, ferry) agrees.
        "name": "non-ASCII code and appid",
        "code": "5-caf\u00e9-stra\u00dfe-\U0001f600",
        "appid": "example.org/f\u00e9rry",
        "entropy_a": fixed("unicode/a", 64),
        "entropy_b": fixed("unicode/b", 64),
        "relay_side": "00000000deadbeef",
    },
    {
        "name": "empty appid",
        "code": "99-x-y-z",
        "appid": "",
        "entropy_a": fixed("empty-appid/a", 64),
        "entropy_b": fixed("empty-appid/b", 64),
        "relay_side": "1234567890abcdef",
    },
]

PLAINTEXTS = [
    ("version", dict_to_bytes({"app_versions": {}})),
    ("0", dict_to_bytes({"offer": {"message": "hello \u2603"}})),
    ("1", b""),
    ("17", fixed("binary", 1000)),
    ("dilate-0", b"\x00"),
]

DERIVE_PURPOSES = [
    (b"dilation-v1", 32),
    (b"wormhole:verifier", 32),
    (b"purpose1", 16),
    (b"purpose1", 64),
    (b"", 100),
]

RECORDS = [
    (0, b"hello"),
    (1, b"hello"),
    (2, b""),
    (255, fixed("record", 300)),
    (2**64 + 5, b"big-endian nonce"),
]


def build_case(case):
    code, appid = case["code"], case["appid"]
    assert unicodedata.normalize("NFC", code) == code
    sp_a, msg_a = pake_message(code, appid, case["entropy_a"])
    sp_b, msg_b = pake_message(code, appid, case["entropy_b"])
    key = sp_a.finish(msg_b)
    assert key == sp_b.finish(msg_a)
    side_a, side_b = h(fixed(case["name"] + "/side-a", 5)), h(fixed(case["name"] + "/side-b", 5))
    phases = [(side, phase, pt) for side in (side_a, side_b) for phase, pt in PLAINTEXTS]
    return {
        "name": case["name"],
        "code": code,
        "appid": appid,
        "entropy_a": h(case["entropy_a"]),
        "entropy_b": h(case["entropy_b"]),
        "msg_a": h(msg_a),
        "msg_b": h(msg_b),
        "body_a": dict_to_bytes({"pake_v1": h(msg_a)}).decode("utf-8"),
        "body_b": dict_to_bytes({"pake_v1": h(msg_b)}).decode("utf-8"),
        "shared_key": h(key),
        "verifier": h(derive_key(key, b"wormhole:verifier")),
        "derive": [{"purpose": h(p), "len": n, "okm": h(derive_key(key, p, n))}
                   for p, n in DERIVE_PURPOSES],
        "phases": phase_vectors(key, case["name"], phases),
        "transit": transit_vectors(key, appid, case["relay_side"], RECORDS),
    }


def secretbox_vectors():
    out = []
    for n in (0, 1, 16, 17, 64, 1000):
        key = fixed(f"secretbox/key/{n}", 32)
        nonce = fixed(f"secretbox/nonce/{n}", 24)
        plaintext = fixed(f"secretbox/pt/{n}", n)
        out.append({"key": h(key), "nonce": h(nonce), "plaintext": h(plaintext),
                    "body": h(seal(key, nonce, plaintext))})
    return out


def choose_words_vectors():
    """Drive PGPWordList.choose_words with known bytes instead of os.urandom."""
    out = []
    real_os = wordlist_module.os
    try:
        for length in (1, 2, 3, 6):
            data = fixed(f"words/{length}", length)
            feed = iter(data)

            class FakeOs:
                @staticmethod
                def urandom(n):
                    assert n == 1
                    return bytes([next(feed)])

            wordlist_module.os = FakeOs
            words = wordlist_module.PGPWordList().choose_words(length)
            out.append({"bytes": h(data), "words": words})
    finally:
        wordlist_module.os = real_os
    return out


def completion_vectors():
    """PGPWordList.get_completions sees the text after 'nameplate-'."""
    wl = wordlist_module.PGPWordList()
    out = []
    for prefix in ("", "gui", "guitarist", "guitarist-re", "guitarist-", "a", "zu",
                   "yuc", "guitarist-revenge-", "nomatch", "Gui"):
        for num_words in (2, 3):
            out.append({"prefix": prefix, "num_words": num_words,
                        "completions": sorted(wl.get_completions(prefix, num_words))})
    return out


def main():
    raw = {int(k, 16): v for k, v in wordlist_module.raw_words.items()}
    kat = {
        "comment": "Produced by test-vectors/generate.py from the Python implementation; "
                   "bytes are lowercase hex. python-spake2 reads entropy as a big-endian "
                   "integer, the Rust spake2 crate as little-endian: feed it reversed.",
        "versions": {p: version(p) for p in ("magic-wormhole", "spake2", "PyNaCl", "cryptography")},
        "cases": [build_case(c) for c in CASES],
        "hkdf": [
            {"ikm": h(fixed(f"hkdf/ikm/{i}", n)), "info": h(info), "len": length,
             "okm": h(HKDF(fixed(f"hkdf/ikm/{i}", n), length, CTXinfo=info))}
            for i, (n, info, length) in enumerate([
                (32, b"purpose1", 32), (1, b"", 1), (0, b"x", 42), (80, b"\xff" * 300, 255 * 32)])
        ],
        "secretbox": secretbox_vectors(),
        "wordlist": [raw[i] for i in range(256)],
        "choose_words": choose_words_vectors(),
        "completions": completion_vectors(),
    }
    json.dump(kat, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
