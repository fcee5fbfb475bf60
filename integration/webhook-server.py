#!/usr/bin/env python3
"""Loopback endpoints for the actions scenario.
   webhook-server.py OK_PORT HANG_PORT LOG
OK_PORT answers every POST with 204 (a path /status/NNN: with NNN instead)
and appends {"t": receipt time, "path", "body"} to LOG; HANG_PORT accepts
connections and never answers."""
import http.server
import json
import socket
import sys
import threading
import time

ok_port, hang_port, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace")
        with open(log, "a") as f:
            f.write(json.dumps({"t": time.time(), "path": self.path, "body": body,
                                "type": self.headers.get("Content-Type")}) + "\n")
        code = 204
        if self.path.startswith("/status/") and self.path[8:].isdigit():
            code = int(self.path[8:])
        self.send_response(code)
        if code != 204:
            self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def hang():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", hang_port))
    s.listen(16)
    held = []
    while True:
        c, _ = s.accept()
        held.append(c)  # never read, never answered


threading.Thread(target=hang, daemon=True).start()
http.server.ThreadingHTTPServer(("127.0.0.1", ok_port), Handler).serve_forever()
