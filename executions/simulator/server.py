"""A provider simulator on loopback. It speaks the BFL, Gemini, fal queue and OpenAI-compatible
chat protocols as strictly as the vendors do (key formats, model ids, field ranges, error
shapes), so the real providers and the vendors' own SDKs run against it unchanged (base URL and
key are all that differ), and it returns real images and videos. Each vendor lives in its own
module (bfl.py, google.py, fal.py, openai.py); this one is the shared HTTP plumbing, TLS and
control endpoints.

Jobs finish `latency` seconds after they were submitted; no thread waits for them, so hundreds
can be in flight and polled cheaply. Result URLs point back at the simulator and expire after
10 minutes, like BFL's. Steering, from any string in a request (usually the prompt):

    sim:request-moderated  sim:content-moderated  sim:error   the job fails that way
    sim:429  sim:500   the submission is answered with that status (429: Retry-After 1)
    sim:402            BFL: 402 insufficient credits; fal: 403 "User is locked" (exhausted
                       balance); Gemini has no such answer and ignores it
    sim:text-only      Gemini answers STOP with a text part and no image
    sim:slow   the job takes 30 s          sim:hang   the HTTP answer itself waits 10 s

`fail_rate` answers that fraction of submissions with a 503.

Control endpoints: POST /__sim/script {"path_prefix", "responses": [429, 500]} (the next
matching requests answer those statuses), POST /__sim/reset, POST /__sim/config {"latency",
"fail_rate", "retired": [model ids the vendor has shut down], "oversize": each side of fal's
images times this, a vendor delivering more than asked}, GET /__sim/stats (submissions
per provider, polls, max_active, …),
GET /__sim/requests (the last 200 authorised vendor requests: vendor, method, path, redacted
body, the fields the vendor ignores, and the status answered).
"""

from __future__ import annotations

import json
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from executions.simulator import bfl, fal, google, openai
from executions.simulator.state import State, redacted

HANG_SECONDS = 10.0
VENDORS: dict[str, ModuleType] = {"bfl": bfl, "google": google, "fal": fal, "openai": openai}
# BFL hands out polling URLs on another (regional) host than the one submitted to.
OTHER_HOST = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}


def vendor_of(path: str) -> str:
    if path.startswith(tuple(f"{prefix}/" for prefix in openai.PREFIXES)):
        return "openai"
    if path.startswith("/v1beta/") or path == "/v1/models" or path.startswith("/v1/models/"):
        return "google"
    return "bfl" if path.startswith("/v1/") else "fal"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so pooled clients poll cheaply
    disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms ACK stalls
    timeout = 120  # drop idle keep-alive connections
    server: SimulatorHttpServer
    body: Any = None  # the request's JSON, read before routing so every answer drains it
    ignored: list[str]  # fields of this request the vendor would ignore, for the request log
    log_entry: dict[str, Any] | None = None  # written to the request log with the answer
    log_epoch = 0  # the simulator's epoch when the logged request arrived
    extra_headers: dict[str, str]

    def setup(self) -> None:
        """TLS handshakes happen here, in the request's own thread, not in the accept loop."""
        super().setup()
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()

    # --- plumbing ----------------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self.server.state

    @property
    def host(self) -> str:
        host = self.headers.get("Host")
        if not host:
            address, port = self.server.server_address[:2]
            host = f"{address}:{port}"
        return host

    @property
    def base(self) -> str:
        """Our own absolute URL, as the client addressed us."""
        return f"{self.server.scheme}://{self.host}"

    @property
    def other_base(self) -> str:
        """Our URL under the other loopback name (127.0.0.1 ↔ localhost)."""
        name, _, port = self.host.rpartition(":") if ":" in self.host else (self.host, "", "")
        name = OTHER_HOST.get(name, name)
        return f"{self.server.scheme}://{name}{':' + port if port else ''}"

    def log_message(self, *args: Any) -> None:
        pass

    def reply(self, status: int, body: Any = None, *, raw: bytes | None = None,
              mime: str = "application/json", headers: dict[str, str] | None = None) -> None:
        data = raw if raw is not None else json.dumps({} if body is None else body).encode()
        if self.log_entry is not None:
            self.state.log_request({**self.log_entry, "ignored": list(self.ignored),
                                    "status": status}, epoch=self.log_epoch)
            self.log_entry = None
        self.send_response(status)
        self.send_header("Content-Type", mime)
        self.send_header("Content-Length", str(len(data)))
        for key, value in {**self.extra_headers, **(headers or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return None

    def refuse_submission(self, vendor: str, marks: frozenset[str]) -> bool:
        """Answer a hang's late reply, a triggered or a random failure instead of accepting
        the job. A hang outlived by a reset answers 503, so it leaks into no later test."""
        module = VENDORS[vendor]
        if "hang" in marks:
            epoch = self.state.epoch
            time.sleep(HANG_SECONDS)
            if epoch != self.state.epoch:
                module.fail(self, 503, "The simulator was reset meanwhile")
                return True
        status = next((s for mark, s in module.TRIGGERED.items() if mark in marks), None)
        if status is None and self.state.random_failure():
            status = 503
        if status is None:
            return False
        self.state.count(f"{vendor}.rejected")
        module.fail(self, status)
        return True

    # --- routing -------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self.route(self.command)

    do_POST = do_PUT = do_DELETE = do_GET

    def route(self, method: str) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        self.body = self.read_json() if method in ("POST", "PUT") else None
        self.ignored, self.log_entry, self.extra_headers = [], None, {}
        if path.startswith("/__sim/"):
            return self.control(method, path)
        self.state.count("requests")
        if path.startswith("/delivery/"):
            return self.delivery(path.rsplit("/", 1)[1])
        vendor = vendor_of(path)
        module = VENDORS[vendor]
        if not module.authorise(self, query):
            return
        self.log_epoch = self.state.epoch
        self.log_entry = {"vendor": vendor, "method": method, "path": path,
                          "body": redacted(self.body)}
        scripted = self.state.scripted(path)
        if scripted is not None:
            self.state.count(f"{vendor}.rejected")
            return module.fail(self, scripted, f"Scripted {scripted}")
        try:
            module.route(self, method, path, query)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            module.fail(self, 400, f"Malformed request: {exc!r}")

    def control(self, method: str, path: str) -> None:
        body = self.body if isinstance(self.body, dict) else {}
        try:
            if method == "POST" and path == "/__sim/script":
                statuses = [int(status) for status in body.get("responses") or []]
                self.state.script(str(body.get("path_prefix") or "/"), statuses)
                return self.reply(200, {"queued": len(statuses)})
            if method == "POST" and path == "/__sim/config":
                latency = float(body.get("latency", self.state.latency))
                fail_rate = float(body.get("fail_rate", self.state.fail_rate))
                retired = {str(model) for model in body.get("retired", self.state.retired)}
                oversize = float(body.get("oversize", self.state.oversize))
                if not 0.1 <= oversize <= 4:
                    raise ValueError("oversize must be from 0.1 to 4")
                with self.state.lock:
                    self.state.latency, self.state.fail_rate = latency, fail_rate
                    self.state.retired, self.state.oversize = retired, oversize
                return self.reply(200, {"ok": True})
        except (TypeError, ValueError) as exc:
            return self.reply(400, {"detail": f"Malformed control request: {exc}"})
        if method == "POST" and path == "/__sim/reset":
            self.state.reset()
            return self.reply(200, {"ok": True})
        if method == "GET" and path == "/__sim/stats":
            return self.reply(200, self.state.snapshot())
        if method == "GET" and path == "/__sim/requests":
            return self.reply(200, self.state.request_log())
        self.reply(404, {"detail": "Unknown control endpoint"})

    def delivery(self, token: str) -> None:
        self.state.count("delivery")
        item = self.state.file(token)
        if item is None:
            return self.reply(404, {"detail": "Expired or unknown delivery URL"})
        self.reply(200, raw=item[0], mime=item[1])


class SimulatorHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512

    def __init__(self, address: tuple[str, int], state: State,
                 tls: ssl.SSLContext | None = None) -> None:
        self.state = state
        self.scheme = "https" if tls else "http"
        super().__init__(address, Handler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True,
                                          do_handshake_on_connect=False)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (e.g. after its own timeout) or refused our certificate is not
        worth a traceback."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, socket.timeout, ssl.SSLError)):
            super().handle_error(request, client_address)


class SimulatorServer:
    """The simulator in a background thread: `with SimulatorServer() as sim: sim.url`.
    With `tls_cert` and `tls_key` (PEM files) it serves HTTPS."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency: float = 1.0,
                 fail_rate: float = 0.0, *, tls_cert: str | None = None,
                 tls_key: str | None = None) -> None:
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("TLS needs both a certificate and its key")
        tls = None
        if tls_cert is not None:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(tls_cert, tls_key)
        self.state = State(latency=latency, fail_rate=fail_rate)
        self.httpd = SimulatorHttpServer((host, port), self.state, tls)
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"{self.httpd.scheme}://{host}:{port}"

    def start(self) -> SimulatorServer:
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                       name="provider-simulator")
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.thread is not None:
            self.httpd.shutdown()
            self.thread.join()
            self.thread = None
        self.httpd.server_close()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
