"""A loopback HTTP proxy in front of the live server that can hold back the answer of a
push: the server has committed the batch, the device is still waiting for the answer
(the instant a kill -9 hurts most). Used by the raffle crash test.

It is also the man in the middle of the hostile-network tests: ``tamper_answer`` may
rewrite any answer body, ``tamper_request`` any request (method, path and body), and
``replay`` serves a recorded answer again instead of asking the server."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

PUSH_PATH = "/v1/sync/push"
_HOP_BY_HOP = {"host", "content-length", "connection", "transfer-encoding", "keep-alive"}


class LossyProxy:
    """Forwards every request to ``upstream``; while ``hold_pushes`` is set, a push is
    forwarded (the server commits it) but its answer is withheld until ``release``."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        #: (method, path, body) -> new (path, body) of the request forwarded
        self.tamper_request: Callable[[str, str, bytes], tuple[str, bytes]] | None = None
        #: (method, path, body of the answer) -> the body the device gets instead
        self.tamper_answer: Callable[[str, str, bytes], bytes] | None = None
        #: path prefix -> the last (status, headers, body) answered on it
        self.recorded: dict[str, tuple[int, list[tuple[str, str]], bytes]] = {}
        #: a path prefix whose recorded answer is served again instead of a fresh one
        self.replay: str | None = None
        #: a lossy link: each request is dropped (connection closed, no answer) with
        #: probability ``drop_rate`` and delayed by up to ``max_delay_s`` (seeded)
        self.drop_rate = 0.0
        self.max_delay_s = 0.0
        self.random = random.Random(12)
        self.dropped = 0
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
                path = self.path
                if proxy.max_delay_s:
                    time.sleep(proxy.random.uniform(0, proxy.max_delay_s))
                if proxy.drop_rate and proxy.random.random() < proxy.drop_rate:
                    proxy.dropped += 1
                    self.close_connection = True
                    return  # as if the network lost it
                if proxy.replay is not None and path.startswith(proxy.replay):
                    status, answer_headers, content = proxy.recorded[proxy.replay]
                    self._answer(status, answer_headers, content)
                    return
                if proxy.tamper_request is not None:
                    path, body = proxy.tamper_request(self.command, path, body)
                with httpx.Client(timeout=60) as client:
                    answer = client.request(
                        self.command, proxy.upstream + path, headers=headers, content=body
                    )
                if proxy.hold_pushes and path.startswith(PUSH_PATH):
                    proxy.push_committed.set()
                    proxy._release.wait(60)
                    self.close_connection = True
                    return  # the answer is lost
                content = answer.content
                answer_headers = list(answer.headers.items())
                for prefix in ("/v1/sync/pull", PUSH_PATH, "/v1/enroll"):
                    if path.startswith(prefix):
                        proxy.recorded[prefix] = (answer.status_code, answer_headers, content)
                if proxy.tamper_answer is not None:
                    content = proxy.tamper_answer(self.command, path, content)
                self._answer(answer.status_code, answer_headers, content)

            def _answer(self, status: int, headers: list[tuple[str, str]], content: bytes) -> None:
                self.send_response(status)
                for key, value in headers:
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
