"""``ketenpoort keys generate|rotate|list``: the gateway's own signing keys.

Rotation makes a new key current at once; running gateways sharing the key
directory pick it up on their next signature. The old token key stays in
``/oauth/jwks`` until every token it signed has expired; old audit keys stay
published for good.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from gateway.audit.key_events import KeyOutcome, key_events
from gateway.cli.console import console, fail, load_settings
from gateway.cli.keylog import log_key_events
from gateway.keys import KEY_USES, TOKEN_KEY_GRACE, KeyRecord, KeyStore, KeyStoreError, KeyUse
from gateway.settings import Settings
from gateway.storage import migrate
from gateway.wiring import Runtime

keys_app = typer.Typer(help="The gateway's signing keys (tokens, audit).", no_args_is_help=True)


class RotateWhich(StrEnum):
    token = "token"  # noqa: S105
    audit = "audit"
    all = "all"


def _store() -> KeyStore:
    settings: Settings = load_settings()
    try:
        return KeyStore.from_settings(settings)
    except KeyStoreError as error:
        fail(str(error), hint="Set KETENPOORT_KEY_PASSPHRASE (or KETENPOORT_DEV_MODE=true).")


def _log(records: list[KeyRecord], outcome: KeyOutcome, by: str) -> None:
    """Record the change in the audit log of the configured database (migrated first)."""
    settings: Settings = load_settings()
    try:
        migrate.upgrade(settings.sqlalchemy_url)
    except SQLAlchemyError as exc:
        fail(
            f"the key change is not in the audit log: database not usable ({type(exc).__name__}).",
            hint="Check KETENPOORT_DATABASE_URL, then run the command again.",
        )
    runtime = Runtime.build(settings)
    try:
        log_key_events(runtime, key_events(records, outcome, by))
    finally:
        runtime.close()


def _one(use: RotateWhich) -> tuple[KeyUse, ...]:
    return ("token",) if use is RotateWhich.token else ("audit",)


def _status(record: KeyRecord, now: datetime) -> str:
    if record.retired_at is None:
        return "[green]current[/]"
    if record.use == "audit":
        return f"retired {record.retired_at:%Y-%m-%d %H:%M}, still published"
    until = record.retired_at + TOKEN_KEY_GRACE
    if now < until:
        return f"retired, published until {until:%H:%M:%S} UTC"
    return "[dim]retired, no longer published[/]"


def _table(records: list[KeyRecord]) -> Table:
    now = datetime.now(UTC)
    table = Table(title="Gateway keys")
    for column in ("use", "kid", "alg", "created (UTC)", "status"):
        table.add_column(column)
    for record in sorted(records, key=lambda r: (r.use, r.created)):
        table.add_row(
            record.use,
            record.kid,
            record.alg,
            f"{record.created:%Y-%m-%d %H:%M:%S}",
            _status(record, now),
        )
    return table


@keys_app.command("generate")
def generate() -> None:
    """Create a key for every use that has none yet (what `serve` does on first start)."""
    store = _store()
    try:
        created = store.ensure()
    except KeyStoreError as error:
        fail(str(error))
    if created:
        _log(created, "created", "keys generate")
        console.print(_table(created))
        console.print(f"{len(created)} key(s) created in {store.directory}.")
    else:
        console.print("Every use already has a current key; nothing created.")


@keys_app.command("rotate")
def rotate(
    use: Annotated[RotateWhich, typer.Option(help="Which key set to rotate.")] = RotateWhich.token,
) -> None:
    """Make a new key current; the old one stays published as long as it is needed."""
    store = _store()
    uses: tuple[KeyUse, ...] = KEY_USES if use is RotateWhich.all else _one(use)
    try:
        if not store.records():
            fail("there are no keys to rotate yet", hint="Run `ketenpoort keys generate` first.")
        store.check()
        created = [store.rotate(which) for which in uses]
    except KeyStoreError as error:
        fail(str(error))
    _log(created, "rotated", "keys rotate")
    console.print(_table(created))
    console.print("Rotated. Running gateways sharing this key directory use the new key now.")


@keys_app.command("list")
def list_keys() -> None:
    """Every key with its use, kid, algorithm and whether it is still published."""
    store = _store()
    try:
        records = store.records()
    except KeyStoreError as error:
        fail(str(error))
    if not records:
        console.print("No keys yet; run `ketenpoort keys generate` or `ketenpoort serve`.")
        return
    console.print(_table(records))
