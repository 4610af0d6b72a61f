"""Known answers for `ferry torrent create`: what libtorrent and torf make for the same files.

Reads a JSON list of cases on stdin: {"root": DIR, "files": [[path elements], ...] (sorted,
as ferry sorts), "piece": BYTES (0: libtorrent's automatic size), "mode": "v1"|"v2"|"hybrid",
"torf": bool}. Writes one JSON object per case on stdout: the info dictionary ("info") and
the piece layers ("layers": root -> layer) as libtorrent makes them, in hex, and torf's info
dictionary ("torf_info") for a v1 case that asks for it.

libtorrent's directory walk (add_files) is used for v2 and hybrid, where libtorrent sorts the
files itself; for v1 it keeps the directory's listing order, which depends on the file
system, so the files are added one by one in ferry's (sorted) order instead.
"""
import json
import os
import sys
import warnings

import libtorrent as lt
import torf

warnings.simplefilter("ignore", DeprecationWarning)

FLAGS = {"v1": lt.create_torrent.v1_only, "v2": lt.create_torrent.v2_only, "hybrid": 0}


def storage(case):
    fs = lt.file_storage()
    root = case["root"]
    if case["mode"] != "v1" or os.path.isfile(root):
        lt.add_files(fs, root)
        return fs
    name = os.path.basename(root)
    for path in case["files"]:
        size = os.path.getsize(os.path.join(root, *path))
        fs.add_file("/".join([name] + path), size)
    return fs


def libtorrent_answer(case):
    t = lt.create_torrent(storage(case), case["piece"], FLAGS[case["mode"]])
    lt.set_piece_hashes(t, os.path.dirname(case["root"]))
    whole = t.generate()
    layers = whole.get(b"piece layers", {})
    return {
        "info": lt.bencode(whole[b"info"]).hex(),
        "layers": {k.hex(): v.hex() for k, v in layers.items()},
        "torrent": lt.bencode(whole).hex(),
    }


def torf_info(case):
    t = torf.Torrent(path=case["root"], piece_size=case["piece"], created_by=None, creation_date=None)
    t.generate()
    return lt.bencode(lt.bdecode(t.dump(validate=False))[b"info"]).hex()


for case in json.load(sys.stdin):
    answer = libtorrent_answer(case)
    if case.get("torf"):
        answer["torf_info"] = torf_info(case)
    print(json.dumps(answer), flush=True)
