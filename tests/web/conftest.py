"""A real gateway on a loopback port (dev mode, dev IdP) with a seeded audit log.

The port is chosen before the app is built because the OIDC issuer and the
redirect URI are derived from ``base_url``, which must be the served address.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from gateway.app import create_app
from gateway.audit.events import AuditEvent
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.subjects.bsn import Bsn
from tests.support.loopback import serve_app

SUBJECT_BSN = "999990007"
OTHER_BSN = "999990019"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Gateway:
    base_url: str
    runtime: Runtime
    seqs: list[int]


def seed(runtime: Runtime) -> list[int]:
    pseudonym = runtime.pseudonymizer.pseudonym(Bsn(SUBJECT_BSN))
    other = runtime.pseudonymizer.pseudonym(Bsn(OTHER_BSN))
    events = [
        AuditEvent(
            kind="disclosure",
            outcome="permit",
            party="politie-demo",
            employee="agent-17",
            convenant="zvh-demo",
            purpose="casusoverleg",
            case="case-1",
            source="ggz-demo",
            category="psychisch_welzijn",
            records=1,
            subject_pseudonym=pseudonym,
        ),
        AuditEvent(
            kind="decision",
            outcome="denied",
            party="woningcorporatie-demo",
            convenant="zvh-demo",
            purpose="casusoverleg",
            case="case-2",
            source="politie-demo",
            category="justitiele_gegevens",
            reason='=HYPERLINK("http://evil")',
            subject_pseudonym=other,
        ),
        AuditEvent(
            kind="case",
            outcome="opened",
            party="gemeente-demo",
            convenant="zvh-demo",
            case="case-1",
        ),
    ]
    seqs = runtime.audit.append_sync(events)
    runtime.audit.checkpoint_now()
    return seqs


@pytest.fixture
def gateway(settings: Settings) -> Iterator[Gateway]:
    port = free_port()
    served = settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"})
    runtime = Runtime.build(served)
    runtime.keys.ensure()
    seqs = seed(runtime)
    app = create_app(served, runtime)
    with serve_app(app, port=port) as base_url:
        yield Gateway(base_url, runtime, seqs)
    runtime.close()


def hidden_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def login(base_url: str, username: str, next_path: str = "/auth/whoami") -> httpx.Client:
    """Log in through the dev IdP like a browser would; returns the client with its cookie."""
    client = httpx.Client(base_url=base_url, follow_redirects=True, timeout=10)
    page = client.get("/auth/login", params={"next": next_path})
    assert page.status_code == 200, page.text
    assert "Kies een demo-gebruiker" in page.text
    form = hidden_fields(page.text)
    form["username"] = username
    done = client.post("/dev-idp/authorize", data=form)
    assert done.status_code == 200, done.text
    return client
