"""A local replaying HTTP server for the live connectors' tests (127.0.0.1, ephemeral port).

Each route maps a path to a *script*: a list of responses served in turn
(the last one repeats), so a test can say "429 with Retry-After, then the
page" or "500, then success". A response is a :class:`Reply`, or a callable
taking the request (method, path, query, headers) and returning one (it may
block, e.g. on an event, to make the server hang). Every request is recorded
(with its headers) so tests can assert on what was sent.

    with FakeServer({"/items": [Reply(429, headers={"Retry-After": "2"}), Reply(200, [1])]}) as srv:
        httpx.get(srv.url + "/items")
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    """One scripted response; ``body`` is JSON-encoded unless it is ``bytes``."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


Script = list[Reply | Callable[[Request], Reply]] | Callable[[Request], Reply]


class FakeServer:
    """Serve scripted routes on 127.0.0.1 in a background thread (a context manager)."""

    def __init__(self, routes: Mapping[str, Script]) -> None:
        self.routes: dict[str, Script] = dict(routes)
        self.requests: list[Request] = []
        self._served: dict[str, int] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                request = Request(
                    "GET", parts.path, parse_qs(parts.query), dict(self.headers.items())
                )
                reply = server._reply(request)
                body = (
                    reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                )
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for k, v in headers.items():
                    self.send_header(k, v.replace("{base}", server.url))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # silence stderr
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def _reply(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            script = self.routes.get(request.path)
            if script is None:
                return Reply(404, {"message": "Not Found"})
            if callable(script):
                step: Reply | Callable[[Request], Reply] = script
            else:
                n = self._served.get(request.path, 0)
                self._served[request.path] = n + 1
                step = script[min(n, len(script) - 1)]
        # a callable runs outside the lock: one that waits (a hanging server) blocks only
        # its own request
        return step(request) if callable(step) else step

    def hits(self, path: str) -> int:
        """How many requests reached ``path``."""
        return sum(1 for r in self.requests if r.path == path)

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
