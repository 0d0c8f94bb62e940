"""Loopback HTTP servers that misbehave on purpose (slow, huge, redirecting), written on raw
sockets so a test decides every byte and sees how much of its answer was taken."""

from __future__ import annotations

import io
import socket
import ssl
import threading
import time
from collections.abc import Callable

from PIL import Image


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def read_request(conn: socket.socket) -> bytes:
    """The request's head and body (by Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


class RawServer:
    """Accepts on 127.0.0.1 and hands each connection to `handle(server, conn)` in a thread.
    `requests` holds what each connection sent; `sent` counts body bytes a handler wrote."""

    def __init__(self, handle: Callable[[RawServer, socket.socket], None],
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.handle = handle
        self.requests: list[bytes] = []
        self.sent = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._ssl = ssl_context
        self.port = self._listener.getsockname()[1]
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self._ssl is not None:
                conn = self._ssl.wrap_socket(conn, server_side=True)
            conn.settimeout(30)
            self.requests.append(read_request(conn))
            self.handle(self, conn)
        except (OSError, ssl.SSLError):
            pass  # the client hung up or refused our certificate: what some tests want
        finally:
            conn.close()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()


def answer(conn: socket.socket, body: bytes, *, status: str = "200 OK",
           content_type: str = "image/png", extra: str = "") -> None:
    conn.sendall(f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n".encode()
                 + body)


def serve_png(server: RawServer, conn: socket.socket) -> None:
    answer(conn, png_bytes())


def serve_drip(server: RawServer, conn: socket.socket, *, count: int = 8,
               every: float = 1.0) -> None:
    """Headers at once, then one body byte every `every` seconds: each read is quick, the
    whole is not."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
                 b"Content-Length: %d\r\nConnection: close\r\n\r\n" % count)
    for _ in range(count):
        time.sleep(every)
        conn.sendall(b"x")
        server.sent += 1


def serve_slow_redirect(server: RawServer, conn: socket.socket, *, delay: float = 0.8) -> None:
    """Each hop waits `delay` seconds and then redirects to the next one."""
    time.sleep(delay)
    answer(conn, b"", status="302 Found", extra=f"Location: /hop{len(server.requests)}\r\n")


def serve_huge(server: RawServer, conn: socket.socket, *, size: int = 64 * 2**20) -> None:
    """A 200 whose body is `size` bytes, streamed in 64 KB pieces while the client reads."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                 b"Content-Length: %d\r\nConnection: close\r\n\r\n" % size)
    piece = b"y" * 65536
    while server.sent < size:
        conn.sendall(piece)
        server.sent += len(piece)


# --- the environment's DNS and routes, as a test needs them --------------------------------

PUBLIC_ADDRESS = "93.184.215.14"  # a global address; nothing is ever sent to it (no_route_out)


def rebinding_dns(monkeypatch, *, name: str, answers: list[str]) -> list[str]:
    """A resolver that answers `name` with answers[0] the first time it is asked, answers[1]
    the next, and so on (the last one from then on): DNS rebinding with a zero TTL. Other
    names resolve as usual. Returns the list of names asked, one entry per lookup."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if host != name:
            return real(host, port, family, type, proto, flags)
        address = answers[min(len(asked), len(answers) - 1)]
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 0)))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def no_route_out(monkeypatch) -> list[tuple[str, int]]:
    """A network with no route beyond loopback: connecting to a public address fails at once
    (ENETUNREACH), so a test never sends a packet out. Returns the addresses dialled."""
    real = socket.create_connection
    dialled: list[tuple[str, int]] = []

    def create_connection(address, *args, **kwargs):
        dialled.append(address)
        if address[0] == PUBLIC_ADDRESS:
            raise OSError(101, "Network is unreachable")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    return dialled


class SilentServer:
    """Accepts on 127.0.0.1 and then never answers nor hangs up: a hung Redis, or one behind a
    network that drops its replies."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self._listener.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self._listener.close()
        for conn in self.held:
            conn.close()
