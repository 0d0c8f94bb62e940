"""The outbound guard (wireflow_site.net): addresses checked where the client connects, IPv6
forms of private IPv4 addresses refused, TLS still verified for the name in the URL."""

from __future__ import annotations

import ssl

import pytest
import trustme

from executions.fetch import fetch_url
from executions.providers import ProviderError
from tests.servers import (
    PUBLIC_ADDRESS,
    RawServer,
    no_route_out,
    png_bytes,
    rebinding_dns,
    serve_png,
)
from wireflow_site.net import PrivateAddress, require_public_url


@pytest.mark.parametrize("url", [
    "http://[::127.0.0.1]/",          # IPv4-compatible
    "http://[::ffff:127.0.0.1]/",     # IPv4-mapped
    "http://[::ffff:0:7f00:1]/",      # IPv4-translated (SIIT)
    "http://[64:ff9b::7f00:1]/",      # NAT64, well-known prefix, to 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/",   # NAT64 to 169.254.169.254 (cloud metadata)
    "http://[64:ff9b:1::a00:1]/",     # NAT64, local-use prefix
    "http://[2002:7f00:1::]/",        # 6to4 around 127.0.0.1
    "http://[::a00:1]/",              # IPv4-compatible 10.0.0.1
    "http://[::8.8.8.8]/",            # IPv4-compatible at all: deprecated, never needed
    "http://[::ffff:0:808:808]/",     # IPv4-translated at all: the same
    "http://[::]/",
    "http://[::1]/",
])
def test_ipv6_forms_of_private_ipv4_addresses_are_refused(url):
    with pytest.raises(PrivateAddress):
        require_public_url(url)


@pytest.mark.parametrize("url", [
    "http://[::ffff:8.8.8.8]/", "http://[64:ff9b::808:808]/", "http://[2002:808:808::]/",
    "http://[2606:4700::1111]/", "http://8.8.8.8/",
])
def test_ipv6_forms_of_public_addresses_stay_allowed(url):
    require_public_url(url)  # literals: resolving them asks no DNS server


def test_a_name_that_rebinds_to_loopback_after_the_check_is_never_connected_to(monkeypatch,
                                                                               settings):
    settings.FETCH_ALLOW_PRIVATE = False
    settings.FETCH_TIMEOUT = 5
    server = RawServer(serve_png)
    try:
        asked = rebinding_dns(monkeypatch, name="rebind.test",
                              answers=[PUBLIC_ADDRESS, "127.0.0.1"])
        dialled = no_route_out(monkeypatch)
        with pytest.raises(ProviderError) as refused:
            fetch_url(f"http://rebind.test:{server.port}/a.png")
        assert server.requests == []  # nothing reached the loopback server
        assert asked == ["rebind.test"]  # resolved once...
        assert dialled == [(PUBLIC_ADDRESS, server.port)]  # ...and dialled what was checked
        assert refused.value.kind == "network"
    finally:
        server.close()


def test_https_through_the_pinned_connection_verifies_the_certificate_of_the_name(
        monkeypatch, settings, tmp_path):
    settings.FETCH_ALLOW_PRIVATE = True  # the same path runs; only the address check is off
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    asked = rebinding_dns(monkeypatch, name="images.test", answers=["127.0.0.1"])
    for cert_name, works in (("images.test", True), ("elsewhere.test", False)):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(cert_name).configure_cert(context)
        server = RawServer(serve_png, ssl_context=context)
        try:
            url = f"https://images.test:{server.port}/a.png"
            if works:
                assert fetch_url(url) == (png_bytes(), "image/png")
                assert f"host: images.test:{server.port}".encode() in server.requests[0].lower()
            else:
                with pytest.raises(ProviderError, match="CERTIFICATE_VERIFY_FAILED"):
                    fetch_url(url)
        finally:
            server.close()
    assert asked == ["images.test", "images.test"]  # once per fetch
