"""Every delivery re-checks where the webhook's host resolves to, and sends nothing inward (F6).

The covenant check sees only the URL; a name that resolves to 127.0.0.1, a
private or a link-local address (or a DNS answer changed after load) would
take the notice and its signed bearer token into the gateway's own network.
Each delivery resolves the host, refuses if any address is not public (logs,
sends nothing, gives up), and connects to the address it checked.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.consent.webhook import ConsentWebhooks, WebhookRefused
from gateway.keys import KeyStore
from gateway.outbound import OutboundRefused, cookieless_jar
from gateway.policy.models import ConsentWebhook
from tests.consent.support import notice

NOTICE = notice("target")


class CountingServer(ThreadingHTTPServer):
    """The OM's system, or whatever else listens there: counts connections and Host headers."""

    daemon_threads = True

    def __init__(self, address: str) -> None:
        super().__init__((address, 0), _Handler)
        self.connections = 0
        self.hosts: list[str] = []

    def verify_request(self, request: object, client_address: object) -> bool:
        self.connections += 1
        return True


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        assert isinstance(self.server, CountingServer)
        self.server.hosts.append(self.headers.get("host", ""))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def listening(address: str, tls: ssl.SSLContext | None = None) -> Iterator[CountingServer]:
    server = CountingServer(address)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def internal_name() -> tuple[str, str]:
    """A host name (not ``localhost``, not a literal) that resolves to a non-public address."""
    for name in (socket.gethostname(), "ip6-localhost", "ip6-loopback"):
        try:
            address = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)[0][4][0]
        except OSError:
            continue
        if not ip_address(str(address)).is_global:
            return name, str(address)
    pytest.skip("no host name here resolves to an internal address")


def test_a_name_that_resolves_inward_gets_no_notice(
    keys: KeyStore, caplog: pytest.LogCaptureFixture
) -> None:
    name, address = internal_name()
    with listening(address) as server:
        hook = ConsentWebhook(url=f"https://{name}:{server.server_port}/hook", max_attempts=1)
        webhooks = ConsentWebhooks(keys, "https://gateway.test", lambda: None)  # type: ignore[arg-type,return-value]
        with caplog.at_level(logging.ERROR, logger="ketenpoort.consent.webhook"):
            assert webhooks._attempt(hook, NOTICE) == "give_up"
    assert server.connections == 0, "nothing was sent there"
    assert any(
        "oc-target not sent" in r.getMessage() and "non-public" in r.getMessage()
        for r in caplog.records
    )


def test_a_literal_internal_address_is_refused_at_delivery_too(keys: KeyStore) -> None:
    """A hook that never passed the covenant check (built in code) is held to the same rules."""
    with listening("127.0.0.1") as server:
        hook = ConsentWebhook(url=f"http://127.0.0.1:{server.server_port}/hook", max_attempts=1)
        webhooks = ConsentWebhooks(keys, "https://gateway.test", lambda: None)  # type: ignore[arg-type,return-value]
        assert webhooks._attempt(hook, NOTICE) == "give_up"
    assert server.connections == 0


@pytest.mark.parametrize(
    "host",
    [
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::a00:5",  # local-use NAT64
        "::7f00:1",  # IPv4-compatible 127.0.0.1
        "::ffff:0:7f00:1",  # SIIT
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    ],
)
def test_an_address_carrying_an_internal_ipv4_one_is_refused_at_delivery(
    keys: KeyStore, host: str
) -> None:
    """What the resolver hands back (a name with such an AAAA record) is judged by the
    IPv4 address it reaches, or refused: never connected to (review F4)."""
    webhooks = ConsentWebhooks(keys, "https://gateway.test", lambda: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(WebhookRefused):
        asyncio.run(webhooks._checked_address(httpx.URL(f"https://[{host}]:5432/hook"), 2))


def test_dev_mode_delivers_to_localhost_with_its_host_header(keys: KeyStore) -> None:
    """Connected to the address checked; the receiver still sees the name in ``Host``."""
    with listening("127.0.0.1") as server:
        hook = ConsentWebhook(url=f"http://localhost:{server.server_port}/hook", max_attempts=1)
        webhooks = ConsentWebhooks(keys, "https://gateway.test", lambda: None, dev_mode=True)  # type: ignore[arg-type,return-value]
        assert webhooks._attempt(hook, NOTICE) == "done"
        assert server.hosts == [f"localhost:{server.server_port}"]


def self_signed(tmp_path: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for ``name`` and a client context trusting only it."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


@pytest.mark.parametrize("certificate_for", ["localhost", "other.example"])
def test_tls_to_the_pinned_address_still_verifies_the_name(
    keys: KeyStore, tmp_path: Path, certificate_for: str
) -> None:
    """Connecting to the checked address must not weaken TLS: the name in the URL is verified."""
    server_tls, client_tls = self_signed(tmp_path, certificate_for)
    webhooks = ConsentWebhooks(keys, "https://gateway.test", lambda: None, dev_mode=True)  # type: ignore[arg-type,return-value]

    async def post(hook: ConsentWebhook) -> int:
        async with httpx.AsyncClient(verify=client_tls, cookies=cookieless_jar()) as client:
            answer = await webhooks._pinned_post(client, hook, {}, b"{}")
            return answer.status

    with listening("127.0.0.1", server_tls) as server:
        hook = ConsentWebhook(url=f"https://localhost:{server.server_port}/hook", timeout_s=5)
        if certificate_for == "localhost":
            assert asyncio.run(post(hook)) == 204
            assert server.hosts == [f"localhost:{server.server_port}"]
        else:
            with pytest.raises(OutboundRefused):
                asyncio.run(post(hook))
            assert server.hosts == []
