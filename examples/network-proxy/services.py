#!/usr/bin/env python3
"""The example network's three services (docs/protocol.md section 8) as plain Python
(standard library only) with no payment code at all: each runs behind paychan-proxy,
which charges for them (provider mode) or pays for them (consumer mode). See README.md.

usage: services.py persistence|random|public [PORT [PERSISTENCE_URL RANDOM_URL]]

  PORT                      where to listen; also from the environment
  LISTEN                    the address to listen on (default 127.0.0.1; 0.0.0.0 in containers)
  PERSISTENCE_SERVICE_URL   public: where /save goes (its consumer sidecar's route)
  RANDOM_NR_SERVICE_URL     public: where /randomNumber goes (likewise)

persistence: /save?nr=N -> {"saved": N, "count"}; /numbers[?last=K] -> {"count", "numbers"}
random:      /randomNumber -> {"randomNumber": n}, 0 <= n < 1000000
public:      /action -> {"randomNumber", "saved": true, "trace": [...]}: one of each, paid by its sidecar
all:         /health, /ready, /status -> {"status": "serving", "service"}
A provider's refusal comes back from /action as 502 {"error", "status", "code": its code, "answer"}.
"""
import http.client
import json
import os
import secrets
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

NUMBERS = []
LOCK = threading.Lock()
LOCAL = threading.local()  # one keep-alive connection per thread and host


def get_json(base, target):
    """GET base+target on a kept-alive connection: (status, parsed body or text)."""
    url = urlsplit(base)
    key = url.netloc
    conns = getattr(LOCAL, "conns", None) or {}
    LOCAL.conns = conns
    for attempt in (0, 1):
        conn = conns.get(key) or http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        conns[key] = conn
        try:
            conn.request("GET", url.path.rstrip("/") + target)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
            break
        except (http.client.HTTPException, OSError):
            conn.close()
            conns.pop(key, None)
            if attempt:
                raise
    try:
        return resp.status, json.loads(text)
    except ValueError:
        return resp.status, text


def persistence(path, query):
    if path == "/save":
        try:
            nr = int(query.get("nr", ""))
        except ValueError:
            return 400, {"error": "nr must be an integer"}
        with LOCK:
            NUMBERS.append(nr)
            return 200, {"saved": nr, "count": len(NUMBERS)}
    if path == "/numbers":
        last = int(query.get("last", "100"))
        with LOCK:
            return 200, {"count": len(NUMBERS), "numbers": NUMBERS[-last:] if last else []}
    return None


def random_nr(path, query):
    if path == "/randomNumber":
        return 200, {"randomNumber": secrets.randbelow(1000000)}
    return None


def public(path, query):
    if path != "/action":
        return None
    trace, start = [], time.perf_counter()

    def step(name, base, target):
        t0 = time.perf_counter()
        status, body = get_json(base, target)
        trace.append({"step": name, "ms": round((time.perf_counter() - t0) * 1000, 2)})
        return status, body

    def refused(status, body):
        code = body.get("code") if isinstance(body, dict) else None
        return 502, {"error": "a provider refused the call", "status": status, "code": code,
                     "answer": body, "trace": trace}

    try:
        status, body = step("getRandomNumber", os.environ["RANDOM_NR_SERVICE_URL"], "/randomNumber")
        if status != 200:
            return refused(status, body)
        number = body["randomNumber"]
        status, body = step("saveNumber", os.environ["PERSISTENCE_SERVICE_URL"], "/save?nr=%d" % number)
        if status != 200 or body.get("saved") != number:
            return refused(status, body)
    except (OSError, http.client.HTTPException, KeyError, TypeError) as e:
        return 502, {"error": "a provider could not be reached: %s" % e, "trace": trace}
    trace.append({"step": "total", "ms": round((time.perf_counter() - start) * 1000, 2)})
    return 200, {"randomNumber": number, "saved": True, "trace": trace}


SERVICES = {"persistence": persistence, "random": random_nr, "public": public}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    service = None

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # header and body are separate writes: without this each answer on a kept-alive
        # connection waits ~40 ms for the client's delayed ACK (Nagle)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path in ("/health", "/ready", "/status"):
            answer = 200, {"status": "serving", "service": self.service}
        else:
            answer = SERVICES[self.service](url.path, query) or (404, {"error": "no such endpoint"})
        body = json.dumps(answer[1]).encode()
        self.send_response(answer[0])
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET


def main():
    if len(sys.argv) not in (2, 3, 5) or sys.argv[1] not in SERVICES:
        sys.exit(__doc__)
    Handler.service = sys.argv[1]
    if len(sys.argv) == 5:
        os.environ["PERSISTENCE_SERVICE_URL"], os.environ["RANDOM_NR_SERVICE_URL"] = sys.argv[3:5]
    port = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("PORT", "9000"))
    server = ThreadingHTTPServer((os.environ.get("LISTEN", "127.0.0.1"), port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


if __name__ == "__main__":
    main()
