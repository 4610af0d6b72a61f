"""A plain HTTP(S) client of a LocalSend share, as a browser or a script would use it.

No LocalSend peer installed here fetches (docs in interop/README.md), so the interop tests
drive ferry's share with this: Python `requests` from the peers' venv, run in a host of the
test LAN. It prints one JSON object a line (a "step") and saves what it downloads under OUT
by the name the share shows, refusing any name that would leave OUT.

    lan_client.py page URL OUT [PIN]   GET URL (?pin=PIN), then every link of the page
    lan_client.py api  URL OUT [PIN]   POST prepare-download (&pin=PIN), then every file;
                                       then one download with a session ferry never granted
    lan_client.py cut  URL OUT [PIN]   POST prepare-download, then the largest file's first
                                       MiB only: the connection is closed midway

Certificates are not checked (LocalSend devices have self-signed ones), as a browser does
after the user clicks through its warning.
"""

import hashlib
import html.parser
import json
import os
import sys
import urllib.parse

import requests
import urllib3

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
TIMEOUT = 20
API = "/api/localsend/v2/"


def step(kind, **fields):
    print(json.dumps({"step": kind, **fields}), flush=True)


class Links(html.parser.HTMLParser):
    """Every <a href download>text</a> of a page."""

    def __init__(self):
        super().__init__()
        self.links, self._open = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._open = {**dict(attrs), "text": ""}

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag):
        if tag == "a" and self._open is not None:
            self.links.append(self._open)
            self._open = None


def save(out, name, response):
    """Streams `response` to OUT/name; returns (size, sha256)."""
    path = os.path.realpath(os.path.join(out, name))
    if not path.startswith(os.path.realpath(out) + os.sep):
        raise ValueError(f"{name!r} leaves {out}")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with open(path, "wb") as f:
        for chunk in response.iter_content(65536):
            f.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def get_file(session, url, out, name, **fields):
    with session.get(url, stream=True, timeout=TIMEOUT) as r:
        if r.status_code != 200:
            return step("file", name=name, status=r.status_code, **fields)
        size, sha = save(out, name, r)
        step("file", name=name, status=200, size=size, sha256=sha,
             attachment=attachment_name(r.headers.get("Content-Disposition")), **fields)


def attachment_name(disposition):
    """The UTF-8 file name of a Content-Disposition (RFC 6266 filename*), decoded."""
    for part in (disposition or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename*" and value.lower().startswith("utf-8''"):
            return urllib.parse.unquote(value[len("utf-8''"):])
    return None


def page(session, url, out, pin):
    params = {"pin": pin} if pin is not None else {}
    r = session.get(url, params=params, timeout=TIMEOUT)
    step("page", status=r.status_code, type=r.headers.get("Content-Type"), body=r.text)
    if r.status_code != 200:
        return
    parser = Links()
    parser.feed(r.text)
    for link in parser.links:
        href = urllib.parse.urljoin(r.url, link["href"])
        get_file(session, href, out, link["text"], href=link["href"],
                 download=link.get("download"))


def api(session, url, out, pin):
    base = urllib.parse.urljoin(url, API)
    params = {"pin": pin} if pin is not None else {}
    r = session.post(base + "prepare-download", params=params, timeout=TIMEOUT)
    step("prepare", status=r.status_code)
    if r.status_code != 200:
        return
    body = r.json()
    sid = body["sessionId"]
    step("info", info=body["info"], count=len(body["files"]))
    for fid, dto in body["files"].items():
        query = urllib.parse.urlencode({"sessionId": sid, "fileId": fid})
        get_file(session, f"{base}download?{query}", out, dto["fileName"],
                 declared=dto["size"])
    some = next(iter(body["files"]), "0")
    forged = urllib.parse.urlencode({"sessionId": "forged" + sid, "fileId": some})
    r = session.get(f"{base}download?{forged}", timeout=TIMEOUT)
    step("forged", status=r.status_code)


def cut(session, url, out, pin):
    base = urllib.parse.urljoin(url, API)
    params = {"pin": pin} if pin is not None else {}
    r = session.post(base + "prepare-download", params=params, timeout=TIMEOUT)
    step("prepare", status=r.status_code)
    body = r.json()
    fid, dto = max(body["files"].items(), key=lambda f: f[1]["size"])
    query = urllib.parse.urlencode({"sessionId": body["sessionId"], "fileId": fid})
    r = session.get(f"{base}download?{query}", stream=True, timeout=TIMEOUT)
    got = len(r.raw.read(1 << 20))
    r.close()  # with the body unread: the connection closes
    session.close()
    step("cut", name=dto["fileName"], status=r.status_code, got=got, declared=dto["size"])


def main():
    mode, url, out = sys.argv[1:4]
    pin = sys.argv[4] if len(sys.argv) > 4 else None
    session = requests.Session()
    session.verify = False
    try:
        {"page": page, "api": api, "cut": cut}[mode](session, url, out, pin)
    except requests.RequestException as e:
        step("error", error=f"{type(e).__name__}: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
