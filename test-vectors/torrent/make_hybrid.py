"""Writes hybrid.torrent: libtorrent 2.1.1's hybrid torrent of a small tree whose content
anyone can regenerate (byte i of the file with seed s is (i * 31 + s) mod 256):

  vec/a       20000 bytes, seed 1   (two pieces, a piece layer)
  vec/b/c        100 bytes, seed 2   (one block)
  vec/b/empty      0 bytes
  vec/d       16384 bytes, seed 3   (exactly one piece: no pad file after it)

Piece size 16 KiB, one tracker, one web seed, creation date 1700000000, no creator.
Run with the peers' Python: ~/.cache/ferry-peers/venv/bin/python3 make_hybrid.py
"""
import os
import tempfile
import warnings

import libtorrent as lt

warnings.simplefilter("ignore", DeprecationWarning)

FILES = [("a", 20000, 1), ("b/c", 100, 2), ("b/empty", 0, 0), ("d", 16384, 3)]

with tempfile.TemporaryDirectory() as tmp:
    for path, size, seed in FILES:
        full = os.path.join(tmp, "vec", path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(bytes((i * 31 + seed) % 256 for i in range(size)))
    fs = lt.file_storage()
    lt.add_files(fs, os.path.join(tmp, "vec"))
    t = lt.create_torrent(fs, 16384, 0)
    t.add_tracker("udp://tracker.example:6969/announce")
    t.add_url_seed("http://seed.example/files/")
    lt.set_piece_hashes(t, tmp)
    whole = t.generate()
    whole[b"creation date"] = 1700000000
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "hybrid.torrent"), "wb") as f:
        f.write(lt.bencode(whole))
