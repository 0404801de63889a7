"""A loopback HTTP proxy in front of the live server that can hold back the answer of a
push: the server has committed the batch, the device is still waiting for the answer
(the instant a kill -9 hurts most). Used by the raffle crash test."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

PUSH_PATH = "/v1/sync/push"
_HOP_BY_HOP = {"host", "content-length", "connection", "transfer-encoding", "keep-alive"}


class LossyProxy:
    """Forwards every request to ``upstream``; while ``hold_pushes`` is set, a push is
    forwarded (the server commits it) but its answer is withheld until ``release``."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.hold_pushes = False
        self.push_committed = threading.Event()
        self._release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                with httpx.Client(timeout=60) as client:
                    answer = client.request(
                        self.command, proxy.upstream + self.path, headers=headers, content=body
                    )
                if proxy.hold_pushes and self.path.startswith(PUSH_PATH):
                    proxy.push_committed.set()
                    proxy._release.wait(60)
                    self.close_connection = True
                    return  # the answer is lost
                content = answer.content
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in _HOP_BY_HOP | {"content-encoding"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = _forward
            do_POST = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def release(self) -> None:
        self.hold_pushes = False
        self._release.set()

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
