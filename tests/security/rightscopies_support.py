"""What the rights-and-copies attacks share: a two-covenant stack, log reading, retention runs."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from gateway.audit.search import EntryQuery, search_entries
from gateway.cli.serve import prepare
from gateway.demo.partner_client import PartnerClient
from gateway.demo.stack import Stack, start_stack
from gateway.retention import RunReport
from gateway.wiring.parts import build_retention_runner

REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"
SECOND_COVENANT = "zvh-tweede"


@contextmanager
def two_covenant_stack(
    database_url: str,
    tmp_path: Path,
    second: Callable[[dict[str, Any]], None] | None = None,
) -> Iterator[Stack]:
    """The repo's policies plus a second covenant with the same parties, on one gateway.

    ``second`` may change the second covenant's document first (e.g. its controller).
    """
    policies = tmp_path / "two-covenants"
    shutil.copytree(REPO_POLICIES, policies)
    document: dict[str, Any] = yaml.safe_load(
        (policies / "demo-zvh.yaml").read_text(encoding="utf-8")
    )
    document["id"] = SECOND_COVENANT
    document["title"] = "Tweede convenant, zelfde partners (test)"
    if second is not None:
        second(document)
    (policies / "tweede.yaml").write_text(
        yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    with start_stack(
        prepare=prepare,
        database_url=database_url,
        key_dir=tmp_path / "keys",
        policy_dir=policies,
        workdir=tmp_path,
        delays={},
    ) as running:
        yield running


def client_in(stack: Stack, party: str, covenant: str, purpose: str) -> PartnerClient:
    client = stack.client(party)
    client.login(covenant, purpose)
    return client


def entries(stack: Stack, **filters: Any) -> list[dict[str, Any]]:
    """Every matching audit entry (newest first), read as the officer's search reads them."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    with stack.runtime.db.session() as session:
        while True:
            page = search_entries(
                session,
                stack.runtime.audit.vault,
                EntryQuery(cursor=cursor, limit=500, **filters),
            )
            found += page.entries
            if page.next is None:
                return found
            cursor = page.next


def retention_run(stack: Stack, moment: datetime) -> RunReport:
    """The real retention runner (every default rule) with its clock at ``moment``."""

    async def go() -> RunReport:
        return await build_retention_runner(
            stack.runtime.foundations, None, now=lambda: moment
        ).run()

    return asyncio.run(go())
