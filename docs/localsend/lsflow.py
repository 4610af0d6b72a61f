#!/usr/bin/env python3
"""Raw LocalSend v2 sender flow for probing peers.
usage: lsflow.py HOST PORT SCENARIO [pin]
scenarios: folder | text | badsha | pin | busy | cancel | download"""
import hashlib, http.client, json, os, ssl, sys, threading, time, uuid
host, port, scen = sys.argv[1], int(sys.argv[2]), sys.argv[3]
arg = sys.argv[4] if len(sys.argv) > 4 else None
proto = os.environ.get('PROTO', 'https')
def conn():
    ctx = ssl._create_unverified_context()
    if os.environ.get('CLIENT_CERT'):
        ctx.load_cert_chain(os.environ['CLIENT_CERT'], os.environ['CLIENT_KEY'])
    return (http.client.HTTPSConnection(host, port, context=ctx, timeout=75) if proto == 'https'
            else http.client.HTTPConnection(host, port, timeout=75))
def req(method, path, body=None, ctype='application/json'):
    c = conn(); c.request(method, path, body=body, headers={'Content-Type': ctype} if body is not None else {})
    r = c.getresponse(); d = r.read(); c.close()
    print(f"  {method} {path} -> {r.status} {d[:300].decode('utf-8','replace')!r}", flush=True)
    return r.status, d
INFO = {"alias": "lsflow", "version": "2.1", "deviceModel": "probe", "deviceType": "headless",
        "fingerprint": "LSFLOWFP", "port": 53317, "protocol": "https", "download": False}
def files_of(entries, preview=None, bad=False):
    fs = {}
    for name, data, ftype in entries:
        fid = uuid.uuid4().hex[:8]
        fs[fid] = {"id": fid, "fileName": name, "size": len(data), "fileType": ftype,
                   "sha256": ("0"*64 if bad else hashlib.sha256(data).hexdigest()),
                   "metadata": {"modified": "2021-01-01T12:34:56Z", "accessed": "2021-01-01T12:34:56Z"}}
        if preview is not None: fs[fid]["preview"] = preview
    return fs
def prepare(fs, q=""):
    return req("POST", "/api/localsend/v2/prepare-upload" + q, json.dumps({"info": INFO, "files": fs}).encode())
def upload_all(fs, entries, resp):
    sid = resp["sessionId"]
    byname = {f["fileName"]: d for (n, d, t), f in zip(entries, fs.values())}
    for fid, tok in resp["files"].items():
        req("POST", f"/api/localsend/v2/upload?sessionId={sid}&fileId={fid}&token={tok}",
            byname[fs[fid]["fileName"]], 'application/octet-stream')
def run(entries, q="", preview=None, bad=False):
    fs = files_of(entries, preview, bad)
    st, d = prepare(fs, q)
    if st == 200:
        upload_all(fs, entries, json.loads(d))
    return st, d
if scen == "folder":
    run([("myfolder/a.txt", b"A\n", "text/plain"), ("myfolder/sub/b.bin", os.urandom(1000), "application/octet-stream"),
         ("../evil.txt", b"E\n", "text/plain")])
elif scen == "text":
    msg = "hello text message"
    run([(str(uuid.uuid4()) + ".txt", msg.encode(), "text/plain")], preview=msg)
elif scen == "badsha":
    run([("bad.bin", b"x"*100, "application/octet-stream")], bad=True)
elif scen == "pin":
    e = [("pinfile.txt", b"pin ok\n", "text/plain")]
    print("no pin:"); prepare(files_of(e))
    for i in range(4):
        print(f"wrong pin #{i+1}:"); prepare(files_of(e), "?pin=0000")
    print("right pin (after lockout):"); run(e, f"?pin={arg}")
elif scen == "pinok":
    run([("pinfile.txt", b"pin ok\n", "text/plain")], f"?pin={arg}")
elif scen == "busy":
    e = [("slow.bin", b"s"*10, "application/octet-stream")]
    st, d = prepare(files_of(e)); r = json.loads(d)
    print("second prepare while first session active:"); prepare(files_of(e))
    print("cancel first:"); req("POST", f"/api/localsend/v2/cancel?sessionId={r['sessionId']}")
    fid, tok = next(iter(r["files"].items()))
    print("upload after cancel:"); req("POST", f"/api/localsend/v2/upload?sessionId={r['sessionId']}&fileId={fid}&token={tok}", b"s"*10, 'application/octet-stream')
elif scen == "download":
    st, d = req("POST", "/api/localsend/v2/prepare-download" + (f"?pin={arg}" if arg else ""))
    if st == 200:
        r = json.loads(d); sid = r["sessionId"]
        for fid in list(r["files"])[:2]:
            c = conn(); c.request("GET", f"/api/localsend/v2/download?sessionId={sid}&fileId={fid}")
            rr = c.getresponse(); data = rr.read()
            print(f"  GET download {fid} -> {rr.status} {len(data)} bytes cd={rr.getheader('Content-Disposition')}")
        req("GET", f"/api/localsend/v2/download?sessionId=nope&fileId=x")
