import json, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rwb')
def call(i, m, **p):
    f.write((json.dumps({"id": i, "method": m, "params": p}) + "\n").encode()); f.flush()
deadline = time.time() + 40; n = 0
while time.time() < deadline:
    fr = json.loads(f.readline())
    if fr.get("type") == "hello": print("hello:", fr)
    if fr.get("type") == "state" and fr["data"].get("incoming"):
        inc = fr["data"]["incoming"]; print("incoming:", json.dumps(inc))
        call(1, "confirm_receive", sessionId=inc["sessionId"], confirmed=(sys.argv[2] == "yes"))
    if fr.get("id") == 1: print("reply:", fr); break
