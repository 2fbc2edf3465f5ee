"""``ketenpoort audit verify|export``: check the tamper-evident log (promise 6).

``verify`` recomputes every leaf and subtree from the database, checks every
checkpoint signature against the gateway's audit JWKS and every query column
and subject-index row against the entry bodies, all in one read snapshot (safe
next to a running gateway); with
``--from-export`` it checks an export with nothing but a public JWKS file.
Either way it names the first bad entry and exits 1.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import SQLAlchemyError

from gateway.audit.core.offline_verify import VerifyResult, verify_export_file
from gateway.audit.integrity import export_log, verify_database
from gateway.audit.keyfiles import KeyFileError, gateway_secret_path
from gateway.audit.log import AuditUnavailable
from gateway.audit.store import head_size
from gateway.audit.subject_keys import SubjectVault
from gateway.cli.console import console, err_console, fail, load_settings
from gateway.keys import KeyStore, KeyStoreError
from gateway.settings import Settings
from gateway.storage.db import Database
from gateway.wiring.audit_log import MASTER_KEY_FILE, build_audit_log, load_secret

audit_app = typer.Typer(help="Tamper-evident audit log: verify and export.", no_args_is_help=True)


def _settings() -> Settings:
    return load_settings()


@contextmanager
def _progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=False) as progress:
        task = progress.add_task(label, total=total)

        def update(done: int) -> None:
            progress.update(task, completed=done)

        yield update


def _read_jwks(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        fail(f"cannot read JWKS {path} ({type(exc).__name__})")
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        fail(f"{path} is not a JWKS (an object with a 'keys' list)")
    return data


def _gateway_jwks(settings: Settings) -> dict[str, Any]:
    try:
        return KeyStore.from_settings(settings).jwks("audit")
    except KeyStoreError as exc:
        fail(f"cannot read the gateway's audit keys: {exc}", hint="Or pass --public-key JWKS.")


def _vault(settings: Settings) -> SubjectVault | None:
    """The master key, when this host has it: then sealed subjects are checked too."""
    if not gateway_secret_path(settings.key_dir, MASTER_KEY_FILE).is_file():
        err_console.print("No master key here: sealed subjects are not opened and compared.")
        return None
    try:
        master = load_secret(settings, MASTER_KEY_FILE)
    except KeyFileError as exc:
        fail(f"cannot read the master key: {exc}", hint="Check KETENPOORT_KEY_PASSPHRASE.")
    return SubjectVault(lambda: master)


def _report(result: VerifyResult) -> None:
    if result.ok:
        console.print(
            f"[green]OK[/]: {result.entries} entries, {result.checkpoints} checkpoints; "
            f"signed up to size {result.verified_size}."
        )
        return
    # No seq when the problem lies outside the log (a withholding row no entry backs).
    where = f" first bad seq {result.first_bad_seq}" if result.first_bad_seq is not None else ""
    err_console.print(f"[bold red]NOT OK[/]{where}: {result.problem}", highlight=False)
    raise typer.Exit(1)


@audit_app.command("verify")
def verify(
    from_export: Annotated[
        Path | None,
        typer.Option(
            "--from-export", help="Verify this JSON Lines export instead of the database."
        ),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="JWKS with the audit public keys (default: key store)."),
    ] = None,
) -> None:
    """Recompute every leaf and the tree; check every checkpoint signature, every
    derived column and subject-index row, and that every inzage withholding row is
    backed by a logged entry. Safe while the gateway runs."""
    if from_export is not None:
        if public_key is None:
            fail("--from-export needs --public-key JWKS")
        jwks = _read_jwks(public_key)
        with _progress("Verifying export", None) as update:
            try:
                result = verify_export_file(from_export, jwks, on_progress=update)
            except OSError as exc:
                fail(f"cannot read {from_export} ({type(exc).__name__})")
        _report(result)
        return
    settings = _settings()
    jwks = _read_jwks(public_key) if public_key is not None else _gateway_jwks(settings)
    vault = _vault(settings)
    db = Database(settings.sqlalchemy_url, timeout_s=settings.db_timeout_s)
    try:
        with db.session() as session:
            total = head_size(session)
        with _progress("Verifying log", total) as update:
            outcome = verify_database(
                db, jwks, on_progress=update, vault=vault, workers=os.cpu_count()
            )
    except (SQLAlchemyError, LookupError) as exc:
        fail(f"cannot read the audit log ({type(exc).__name__})")
    finally:
        db.dispose()
    _report(outcome.result)


@audit_app.command("export")
def export(
    file: Annotated[Path, typer.Argument(help="Where to write the JSON Lines export.")],
) -> None:
    """Sign a fresh checkpoint, then write every entry up to it plus all checkpoints."""
    settings = _settings()
    db = Database(settings.sqlalchemy_url, timeout_s=settings.db_timeout_s)
    try:
        try:
            build_audit_log(settings, db).checkpoint_now()
        except AuditUnavailable as exc:
            err_console.print(f"[yellow]No fresh checkpoint[/] ({exc}); exporting up to the last.")
        with db.session() as session:
            total = head_size(session)
        with file.open("wb") as out, _progress("Exporting", total) as update:
            count = export_log(db, out, on_progress=update)
    except (SQLAlchemyError, LookupError) as exc:
        fail(f"cannot read the audit log ({type(exc).__name__})")
    except OSError as exc:
        fail(f"cannot write {file} ({type(exc).__name__})")
    finally:
        db.dispose()
    console.print(f"{count} entries written to {file}.")
