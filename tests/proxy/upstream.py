#!/usr/bin/env python3
"""A trivial HTTP/1.1 upstream for paychan-proxy's tests and benchmark (standard library only).

usage: upstream.py PORT

  /echo...          JSON: method, path (raw target), headers (lower-case names), body length
  /big?n=N[&chunked=1][&pause=MS]  N bytes of 'abcdefghij...' (Content-Length, or chunked
                    in 64 KiB pieces; pause: MS ms before each piece after the first)
  /slow?ms=N        answers after N ms
  /hop              an answer carrying hop-by-hop headers (Connection: x-secret, ...)
  /402...           402 without terms
  /hits             JSON {"hits": requests served so far, this one excluded, "connections": accepted}
  anything else     200 "ok" (the pass-through benchmark's path)
"""
import json
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HITS = [0]
CONNECTIONS = [0]
LOCK = threading.Lock()
PATTERN = b"abcdefghijklmnopqrstuvwxyz0123456789" * 1820  # ~64 KiB


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        with LOCK:
            CONNECTIONS[0] += 1
        # header and body are separate writes: without this each answer on a kept-alive
        # connection waits ~40 ms for the client's delayed ACK (Nagle)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, status, body, ctype="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def big(self, n, chunked, pause_ms=0):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(n))
        self.end_headers()
        first = True
        while n > 0:
            if pause_ms and not first:
                self.wfile.flush()
                time.sleep(pause_ms / 1000.0)
            first = False
            piece = PATTERN[: min(n, len(PATTERN))]
            n -= len(piece)
            if chunked:
                self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
            else:
                self.wfile.write(piece)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with LOCK:
            hits = HITS[0]
            if url.path != "/hits":
                HITS[0] += 1
        if url.path.startswith("/echo") or url.path.startswith("/paid") or url.path.startswith("/free"):
            headers = {k.lower(): v for k, v in self.headers.items()}
            out = {"method": self.command, "path": self.path, "headers": headers,
                   "bodyLength": len(body), "body": body.decode("latin-1")[:200]}
            self.send(200, json.dumps(out).encode(), extra=[("X-Upstream", "echo")])
        elif url.path == "/big":
            self.big(int(query.get("n", "0")), query.get("chunked") == "1",
                     int(query.get("pause", "0")))
        elif url.path == "/slow":
            time.sleep(int(query.get("ms", "0")) / 1000)
            self.send(200, b'{"slow":true}')
        elif url.path == "/hop":
            self.send(200, b"{}", extra=[("Connection", "x-secret"), ("X-Secret", "1"),
                                         ("Keep-Alive", "timeout=5"), ("X-Kept", "1")])
        elif url.path.startswith("/402"):
            self.send(402, b'{"error": "pay, but no terms"}')
        elif url.path == "/hits":
            self.send(200, json.dumps({"hits": hits, "connections": CONNECTIONS[0]}).encode())
        else:
            self.send(200, b"ok", ctype="text/plain")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("listening", flush=True)
    server.serve_forever()
