#!/usr/bin/env python3
"""Tiny raw LocalSend v2 HTTP(S) probe: python3 lsprobe.py HOST PORT METHOD PATH [JSON|@file|-]"""
import hashlib, http.client, json, ssl, sys
host, port, method, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
body = None
if len(sys.argv) > 5:
    a = sys.argv[5]
    body = open(a[1:], 'rb').read() if a.startswith('@') else a.encode()
ctx = ssl._create_unverified_context()
import os
if os.environ.get('CLIENT_CERT'):
    ctx.load_cert_chain(os.environ['CLIENT_CERT'], os.environ['CLIENT_KEY'])
proto = os.environ.get('PROTO', 'https')
c = (http.client.HTTPSConnection(host, port, context=ctx, timeout=70) if proto == 'https'
     else http.client.HTTPConnection(host, port, timeout=70))
hdr = {'Content-Type': 'application/json' if body and body[:1] in b'{[' else 'application/octet-stream'}
c.request(method, path, body=body, headers=hdr)
r = c.getresponse()
data = r.read()
fp = None
if proto == 'https':
    der = c.sock.getpeercert(binary_form=True) if c.sock else None
print(f"HTTP {r.status} {r.reason}  ctype={r.getheader('Content-Type')} len={len(data)}")
print(data.decode('utf-8', 'replace')[:2000])
