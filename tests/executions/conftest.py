"""The provider simulator on loopback, and settings that point the real providers at it.

The server itself is the session-wide `simulator_server` (tests/conftest.py, shared with the
live worker); `simulator` resets it before each test.
"""

from __future__ import annotations

import copy
import hashlib
import io
import time
import uuid

import httpx
import pytest
from PIL import Image

REMOTE_ALIASES = ("bfl", "google", "fal")


@pytest.fixture
def simulator(simulator_server):
    """The simulator with no jobs, scripts or counters, and its default latency; reset again
    afterwards, so what a test configured (a retired model, a script) never reaches a later
    test that runs through the live worker without this fixture."""
    httpx.post(f"{simulator_server.url}/__sim/reset").raise_for_status()
    yield simulator_server
    httpx.post(f"{simulator_server.url}/__sim/reset").raise_for_status()


def close_remote_providers() -> None:
    """Close the pooled connections of the cached remote providers before they are dropped."""
    from executions.providers import get_provider

    for alias in REMOTE_ALIASES:
        get_provider(alias).close()


def point_providers_at(settings, url: str, **options) -> None:
    """bfl, google and fal → `url` with the vendor's well-formed sample key, plus any other
    OPTIONS given."""
    from executions.simulator.keys import SAMPLE_KEYS

    close_remote_providers()
    providers = copy.deepcopy(settings.PROVIDERS)
    for alias in REMOTE_ALIASES:
        providers[alias]["OPTIONS"].update(
            {"base_url": url, "api_key": SAMPLE_KEYS[alias], **options})
    settings.PROVIDERS = providers  # setting_changed clears get_provider's cache


@pytest.fixture
def simulated(settings, simulator, tmp_path):
    """The real providers pointed at the simulator (5 s timeout); media in a temporary folder."""
    settings.MEDIA_ROOT = tmp_path
    point_providers_at(settings, simulator.url, timeout=5)
    yield simulator
    close_remote_providers()


@pytest.fixture
def make_media(settings, tmp_path):
    """Save a PNG of a given size into default storage and return it as a `Media`."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from executions.providers import Media

    settings.MEDIA_ROOT = tmp_path

    def make(size=(64, 48), color=(10, 120, 200)) -> Media:
        buffer = io.BytesIO()
        Image.new("RGB", size, color).save(buffer, "PNG")
        data = buffer.getvalue()
        # A name of its own: S3 overwrites a name stored twice (file_overwrite; the app's
        # names are random), the file system would have made it unique.
        name = default_storage.save(f"inputs/{uuid.uuid4().hex}.png", ContentFile(data))
        return Media(kind="image", storage_name=name, mime="image/png",
                     sha256=hashlib.sha256(data).hexdigest(), width=size[0], height=size[1])

    return make


def sim_stats(simulator) -> dict:
    """The simulator's counters, e.g. {"bfl.submit": 1, "bfl.poll": 3, "max_active": 1}."""
    return httpx.get(f"{simulator.url}/__sim/stats").json()["stats"]


def sim_requests(simulator, vendor: str | None = None) -> list[dict]:
    """What clients sent the simulator's vendor endpoints, oldest first (bodies redacted)."""
    log = httpx.get(f"{simulator.url}/__sim/requests").json()
    return [entry for entry in log if vendor is None or entry["vendor"] == vendor]


def sim_script(simulator, path_prefix: str, responses: list[int]) -> None:
    """Make the next requests whose path starts with `path_prefix` answer these statuses."""
    httpx.post(f"{simulator.url}/__sim/script",
               json={"path_prefix": path_prefix, "responses": responses}).raise_for_status()


def until_done(provider, job, outcome, timeout: float = 15.0):
    """Poll a Pending outcome through the provider's public `poll` until it settles."""
    from executions.providers import Pending

    deadline = time.monotonic() + timeout
    while isinstance(outcome, Pending):
        assert time.monotonic() < deadline, "the job never finished"
        time.sleep(0.05)
        outcome = provider.poll(job, outcome.handle)
    return outcome


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> tuple[str, str]:
    """(certificate, key) PEM files of a throwaway self-signed certificate for 127.0.0.1 and
    localhost; a client trusts it with SSL_CERT_FILE=<certificate>."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "provider simulator")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.fixture
def media_root(settings, tmp_path):
    """Inputs stored on the file system: what is tested is the sound and pictures, not the
    storage (tests/api/test_audio_uploads.py runs both backends)."""
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {}}}
    return tmp_path
