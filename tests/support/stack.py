"""The one ``stack`` fixture: a whole real stack per test (gateway, demo sources, partner keys).

Conftests import it (``from tests.support.stack import stack``) instead of each
writing its own copy; a test package that needs another covenant set starts its
own stack with :func:`gateway.demo.stack.start_stack`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.cli.serve import prepare
from gateway.demo.partner_client import PartnerClient
from gateway.demo.stack import DEMO_COVENANT, Stack, start_stack
from gateway.demodata.people import demo_people

REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture
def stack(migrated_url: str, tmp_path: Path) -> Iterator[Stack]:
    with start_stack(
        prepare=prepare,
        database_url=migrated_url,
        key_dir=tmp_path / "keys",
        policy_dir=REPO_POLICIES,
        workdir=tmp_path,
        delays={},
    ) as running:
        yield running


def open_demo_case(stack: Stack) -> tuple[PartnerClient, str]:
    """A logged-in ``gemeente-demo`` client and a case it opened about the first demo person."""
    partner = stack.client("gemeente-demo")
    partner.login(DEMO_COVENANT, "pga-casusoverleg")
    bsn = demo_people()[0].bsn.reveal()
    opened = partner.open_case(
        DEMO_COVENANT, "pga-casusoverleg", bsn, ["gemeente-demo"], "casusoverleg"
    )
    assert opened.status_code == 201, opened.text
    return partner, str(opened.json()["id"])
