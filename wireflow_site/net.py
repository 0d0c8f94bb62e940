"""Outbound requests to user-given URLs: refuse hosts that resolve to non-public addresses."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class PrivateAddress(ValueError):
    pass


def require_public_url(url: str, *, allow_private: bool = False) -> None:
    """Raise PrivateAddress for a non-http(s) URL, an unresolvable host, or a host with any
    private, loopback, link-local or otherwise non-global address."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise PrivateAddress(f"Not a valid URL: {url[:100]}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PrivateAddress("Only http(s) URLs are allowed")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, port or 443, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise PrivateAddress(f"Cannot resolve host {parts.hostname}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise PrivateAddress(
                f"{parts.hostname} is a private, loopback or link-local address"
            )
