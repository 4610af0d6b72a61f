# Python magic-wormhole's own `wormhole send`, made to offer a zip we built
# (FERRY_TEST_ZIP) as a directory named FERRY_TEST_DIRNAME, so the page's
# unpacker meets deflated entries and hostile names through a real transfer.
# FERRY_TEST_NUMBYTES overrides the offer's `numbytes`.
# Run with the peers venv's python3; the arguments are `wormhole`'s.
import os
import sys
import zipfile

from wormhole.cli import cmd_send
from wormhole.cli.cli import wormhole


def build_offer(self):
    path = os.environ["FERRY_TEST_ZIP"]
    size = os.path.getsize(path)
    infos = zipfile.ZipFile(path).infolist()
    # What the entries unpack to, as the real senders count it, unless a test wants a lie.
    numbytes = int(os.environ.get("FERRY_TEST_NUMBYTES", sum(i.file_size for i in infos)))
    offer = {"mode": "zipfile/deflated", "dirname": os.environ["FERRY_TEST_DIRNAME"], "zipsize": size, "numbytes": numbytes, "numfiles": len(infos)}
    return {"directory": offer}, open(path, "rb")


cmd_send.Sender._build_offer = build_offer
sys.argv[0] = "wormhole"
sys.exit(wormhole())
