"""Outbound requests to user-given URLs (media by URL, input:image URLs, completion webhooks).

Server-side request forgery is stopped where the socket is opened, not before: the client's
network backend resolves each host once, checks every address it got, and connects to a
checked one. A separate check before httpx resolves the name again is open to DNS rebinding
(the first answer public, the second 127.0.0.1). The URL, Host header and TLS server name stay
the original hostname, so certificates are still verified against it.

Every fetch also has one deadline across connect, headers, body and redirects: each socket
read and write waits at most the time left, so a server dripping a byte at a time cannot hold
a worker past it. Bodies are read through `response_read_capped`, never whole.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
import typing
from urllib.parse import SplitResult, urlsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The well-known NAT64 prefix carries an IPv4 address in its last 32 bits (RFC 6052): the
# address behind it is what a packet reaches, so it is the one to check.
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
# Never public, whatever Python's table says: IPv4-compatible (deprecated, RFC 4291 2.5.5.1)
# and IPv4-translated (RFC 2765) forms, which no public host needs; local-use NAT64 (RFC
# 8215; where the IPv4 part sits depends on the operator's prefix length); and Teredo (its
# client address is obfuscated).
_ALWAYS_PRIVATE = tuple(ipaddress.ip_network(network) for network in (
    "::/96", "::ffff:0:0:0/96", "64:ff9b:1::/48", "2001::/32"))


class PrivateAddress(ValueError):
    """A URL we must not fetch: not http(s), unresolvable, or reaching a non-public address."""


def address_is_public(address: IPAddress) -> bool:
    """Whether `address` is a global unicast address, looking through the IPv6 forms that
    embed an IPv4 address (mapped, NAT64, 6to4) at the address inside."""
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in network for network in _ALWAYS_PRIVATE):
            return False
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64_WELL_KNOWN:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return address_is_public(embedded)
    return address.is_global and not address.is_multicast


def host_resolve(*, host: str, port: int, allow_private: bool) -> list[str]:
    """The addresses `host` resolves to, resolved once; PrivateAddress if any is not public
    (one private answer among public ones is refused too: the connection could pick it)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise PrivateAddress(f"Cannot resolve host {host}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_private:
        for address in addresses:
            if not address_is_public(ipaddress.ip_address(address)):
                raise PrivateAddress(f"{host} is a private, loopback or link-local address")
    return addresses


def url_require_http(url: str) -> SplitResult:
    """The parts of an http(s) URL with a host; PrivateAddress for anything else."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port out of range
    except ValueError as exc:
        raise PrivateAddress(f"Not a valid URL: {url[:100]}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PrivateAddress("Only http(s) URLs are allowed")
    return parts


def require_public_url(url: str, *, allow_private: bool = False) -> None:
    """Refuse, when a URL is saved, one we would refuse to connect to now. Fetching checks
    again where it connects (`outbound_client`): a name can resolve elsewhere later."""
    parts = url_require_http(url)
    if not allow_private:
        host_resolve(host=parts.hostname or "", port=parts.port or 443, allow_private=False)


class Deadline:
    """One point in time (monotonic clock) that a whole fetch must end by."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends_at = time.monotonic() + seconds

    def clamp(self, timeout: float | None, expired: type[Exception]) -> float:
        """`timeout` cut to the time left; raises `expired` once no time is left."""
        left = self.ends_at - time.monotonic()
        if left <= 0:
            raise expired(f"Gave up after the {self.seconds:g} s deadline")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write waits at most until the deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        stream = self._stream.start_tls(ssl_context, server_hostname,
                                        self._deadline.clamp(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(stream, self._deadline)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _PinnedBackend(httpcore.SyncBackend):
    """Connects to the addresses it resolved and checked itself, never to a name."""

    def __init__(self, *, allow_private: bool, deadline: Deadline) -> None:
        self._allow_private = allow_private
        self._deadline = deadline

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: typing.Iterable[typing.Any] | None = None,
                    ) -> httpcore.NetworkStream:
        addresses = host_resolve(host=host, port=port, allow_private=self._allow_private)
        error: Exception | None = None
        for address in addresses:  # every one was checked: try them in the resolver's order
            try:
                stream = super().connect_tcp(
                    address, port, self._deadline.clamp(timeout, httpcore.ConnectTimeout),
                    local_address, socket_options)
            except httpcore.ConnectError as exc:
                error = exc
                continue
            return _DeadlineStream(stream, self._deadline)
        raise error or httpcore.ConnectError(f"{host} has no address")


class _PinnedTransport(httpx.HTTPTransport):
    def __init__(self, *, allow_private: bool, deadline: Deadline) -> None:
        ssl_context = httpx.create_ssl_context()
        super().__init__(verify=ssl_context)
        # httpx 0.28 takes no network backend (encode/httpx#3749 adds one), and its transport
        # is only a wrapper around this pool: give it a pool that connects through ours.
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            network_backend=_PinnedBackend(allow_private=allow_private, deadline=deadline))


def outbound_client(*, allow_private: bool, timeout: float) -> httpx.Client:
    """An httpx client for user-given URLs: addresses checked where it connects (skipped,
    only, when `allow_private`), and `timeout` seconds for everything it does, redirects and
    all. Make one per fetch: the deadline starts now. Raises PrivateAddress from a request."""
    deadline = Deadline(timeout)
    # No proxies or .netrc from the environment: a proxy would connect to the name for us.
    # Identity encoding: a compressed body could inflate far past what we mean to read.
    return httpx.Client(transport=_PinnedTransport(allow_private=allow_private,
                                                   deadline=deadline),
                        headers={"accept-encoding": "identity"},
                        timeout=timeout, follow_redirects=False, trust_env=False)


def response_read_capped(response: httpx.Response, *, limit: int) -> tuple[bytes, bool]:
    """At most `limit` bytes of a streamed response's body, and whether there was more. Stops
    reading there: the rest is never downloaded (closing the response drops the connection)."""
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False
