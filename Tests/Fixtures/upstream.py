#!/usr/bin/env python3
"""A small HTTP/1.1 keep-alive upstream for the gateway's proxy and supervisor tests.

Usage: upstream.py [PORT] [--health-delay SECONDS] [--ignore-sigterm] [--exit-with-parent]
PORT defaults to $PORT, then 0 (an ephemeral port). The chosen port is the first line on stdout.
--exit-with-parent ends the server when the process that started it is gone (a test run that
crashed leaves nothing behind).
Python 3 standard library only.
"""

import gzip
import hashlib
import json
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

STARTED = time.monotonic()
HEALTH_DELAY = 0.0
STATS_LOCK = threading.Lock()
STATS = {"requests": {}, "methods": {}, "dropped": 0}
PATTERN_BLOCK = bytes(range(256)) * 256  # 64 KiB


def count(path, method):
    with STATS_LOCK:
        STATS["requests"][path] = STATS["requests"].get(path, 0) + 1
        STATS["methods"].setdefault(path, []).append(method)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fixture-upstream"
    # Set by /keepalive-then-drop: the next request on this connection is read and then dropped
    # without a response byte, as a server closing an idle keep-alive connection would.
    drop_next = False

    def log_message(self, format, *args):
        sys.stderr.write("upstream: " + (format % args) + "\n")
        sys.stderr.flush()

    # -- request parts ---------------------------------------------------------------------

    def split_target(self):
        path, _, query = self.path.partition("?")
        return path, (query if "?" in self.path else None)

    def params(self):
        _, query = self.split_target()
        return {k: v[-1] for k, v in parse_qs(query or "").items()}

    def body_chunks(self):
        """Yields the request body as it arrives: sized or chunked."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                yield from self.read_exactly(size)
                self.rfile.readline()
        else:
            yield from self.read_exactly(int(self.headers.get("Content-Length") or 0))

    def read_exactly(self, count):
        while count:
            data = self.rfile.read(min(count, 65536))
            if not data:
                raise ConnectionError("body ended early")
            count -= len(data)
            yield data

    def read_body_digest(self, pause_after=None, pause=0.0):
        """Reads the body incrementally. With pause_after, stops reading for `pause` seconds once
        that many bytes came in, with a small receive buffer, so that a sender upstream of us
        can only get ahead by what the connections in between buffer."""
        if pause_after is not None:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        digest = hashlib.sha256()
        length = 0
        chunks = 0
        first = last = paused_at = resumed_at = None
        for data in self.body_chunks():
            now = time.time()
            first = first or now
            last = now
            length += len(data)
            chunks += 1
            digest.update(data)
            if pause_after is not None and paused_at is None and length >= pause_after:
                paused_at = time.time()
                time.sleep(pause)
                resumed_at = time.time()
        return {"bytes": length, "sha256": digest.hexdigest(), "reads": chunks, "first_byte_at": first, "last_byte_at": last,
                "paused_at": paused_at, "resumed_at": resumed_at}

    # -- response helpers ------------------------------------------------------------------

    def send_json(self, value, status=200, headers=()):
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, val in headers:
            self.send_header(name, val)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    # -- dispatch --------------------------------------------------------------------------

    def handle_any(self):
        path, _ = self.split_target()
        if self.drop_next:
            self.drop_next = False
            for _ in self.body_chunks():
                pass
            with STATS_LOCK:
                STATS["dropped"] += 1
            self.close_connection = True
            return
        count(path, self.command)
        route = ROUTES.get(path) or (Handler.echo if path.startswith("/echo/") else None)
        if route is None:
            self.send_json({"detail": "Not Found"}, 404)
            return
        route(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = handle_any

    # -- endpoints -------------------------------------------------------------------------

    def health(self):
        if time.monotonic() - STARTED < HEALTH_DELAY:
            self.send_json({"status": "starting"}, 503)
        else:
            self.send_json({"status": "ok", "pid": os.getpid()})

    def echo(self):
        path, query = self.split_target()
        body = self.read_body_digest()
        self.send_json({
            "method": self.command,
            "path": path,
            "query": query,
            "headers": [[name, value] for name, value in self.headers.items()],
            "body_length": body["bytes"],
            "body_sha256": body["sha256"],
        })

    def stream_upload(self):
        """?pause_after=BYTES&pause=SECONDS: see read_body_digest."""
        params = self.params()
        pause_after = int(params["pause_after"]) if "pause_after" in params else None
        self.send_json(self.read_body_digest(pause_after, float(params.get("pause", "0"))))

    def big(self):
        """N MB of the repeating byte pattern 0, 1, ..., 255 (byte i is i % 256); ?chunked=1 for
        chunked encoding. The time the last byte was handed to the kernel goes to /stats."""
        params = self.params()
        total = int(float(params.get("mb", "1")) * 1024 * 1024)
        chunked = params.get("chunked") == "1"
        block = PATTERN_BLOCK
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(total))
        self.end_headers()
        if self.command == "HEAD":
            return
        sent = 0
        while sent < total:
            data = block[: min(len(block), total - sent)]
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self.wfile.write(data)
            sent += len(data)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        with STATS_LOCK:
            STATS["big_finished_at"] = time.time()

    def pattern_sha(self):
        """The sha256 of what /big?mb=N sends, to check an upload of the same pattern."""
        total = int(float(self.params().get("mb", "1")) * 1024 * 1024)
        digest = hashlib.sha256()
        sent = 0
        while sent < total:
            data = PATTERN_BLOCK[: min(len(PATTERN_BLOCK), total - sent)]
            digest.update(data)
            sent += len(data)
        self.send_json({"bytes": total, "sha256": digest.hexdigest()})

    def early_reply(self):
        """Answers ?status=N at once, without reading the request body, and closes the connection."""
        data = b"early"
        self.send_response(int(self.params().get("status", "200")))
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        self.close_connection = True

    def cookies(self):
        self.send_json({"ok": True}, headers=[("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/; HttpOnly")])

    def redirect(self):
        params = self.params()
        target = params.get("to", "http://127.0.0.1:%d/target?x=1" % self.server.server_address[1])
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def slow(self):
        time.sleep(float(self.params().get("s", "1")))
        self.send_json({"slept": True})

    def malformed(self):
        self.wfile.write(b"HTTP/1.1 abc this is not a status line\r\nX: y\r\n\r\n")
        self.wfile.flush()
        self.close_connection = True

    def close_early(self):
        for _ in self.body_chunks():
            pass
        self.close_connection = True

    def head_test(self):
        data = b"hello head"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Head-Test", "yes")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def exit(self):
        self.send_json({"exiting": True})
        self.wfile.flush()
        threading.Timer(0.05, lambda: os._exit(3)).start()

    def gzip_body(self):
        # mtime=0: the same bytes on every call, so a proxied and a direct fetch can be compared.
        data = gzip.compress(b"compressed hello " * 100, mtime=0)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def hop(self):
        """Answers with hop-by-hop headers the proxy must not pass on."""
        self.send_response(200)
        self.send_header("Connection", "X-Hop-Secret")
        self.send_header("X-Hop-Secret", "1")
        self.send_header("Keep-Alive", "timeout=5")
        self.send_header("Proxy-Authenticate", "Basic")
        self.send_header("Trailer", "X-Checksum")
        self.send_header("Upgrade", "h2c")
        self.send_header("X-End-To-End", "kept")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def keepalive_then_drop(self):
        self.drop_next = True
        self.send_json({"armed": True})

    def stats(self):
        with STATS_LOCK:
            self.send_json(json.loads(json.dumps(STATS)))


ROUTES = {
    "/health": Handler.health,
    "/echo": Handler.echo,
    "/stream-upload": Handler.stream_upload,
    "/big": Handler.big,
    "/pattern-sha": Handler.pattern_sha,
    "/cookies": Handler.cookies,
    "/early-reply": Handler.early_reply,
    "/redirect": Handler.redirect,
    "/slow": Handler.slow,
    "/malformed": Handler.malformed,
    "/close-early": Handler.close_early,
    "/head-test": Handler.head_test,
    "/exit": Handler.exit,
    "/gzip": Handler.gzip_body,
    "/hop": Handler.hop,
    "/keepalive-then-drop": Handler.keepalive_then_drop,
    "/stats": Handler.stats,
}


def exit_with_parent(parent):
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main(argv):
    global HEALTH_DELAY
    port = int(os.environ.get("PORT", "0"))
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--health-delay":
            HEALTH_DELAY = float(args.pop(0))
        elif arg == "--ignore-sigterm":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        elif arg == "--exit-with-parent":
            threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()
        else:
            port = int(arg)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
