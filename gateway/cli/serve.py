"""``ketenpoort serve``: migrate, prepare keys, then serve HTTP."""

from __future__ import annotations

import uvicorn
from sqlalchemy.exc import SQLAlchemyError

from gateway.app import create_app
from gateway.audit.key_events import key_events
from gateway.audit.keyfiles import KeyFileError
from gateway.cli.console import console, err_console, fail
from gateway.cli.keylog import log_key_events
from gateway.httpserver import server_stack
from gateway.keys import KeyStoreError
from gateway.policy.errors import PolicyError
from gateway.settings import Settings
from gateway.storage import migrate
from gateway.web.mount import open_session_secret
from gateway.wiring import Runtime


def prepare(settings: Settings) -> Runtime:
    """Everything ``serve`` and ``demo`` do before accepting traffic."""
    try:
        migrate.upgrade(settings.sqlalchemy_url)
    except SQLAlchemyError as exc:
        fail(
            f"database at {_redacted(settings.database_url)} is not usable ({type(exc).__name__}).",
            hint="Check KETENPOORT_DATABASE_URL and that the server is running.",
        )
    settings.key_dir.mkdir(parents=True, exist_ok=True)
    runtime = Runtime.build(settings)
    try:
        created = runtime.keys.ensure()
        runtime.keys.check()
    except KeyStoreError as exc:
        fail(f"key store: {exc}", hint="Check KETENPOORT_KEY_DIR and KETENPOORT_KEY_PASSPHRASE.")
    for record in created:
        console.print(f"New {record.use} key created (kid {record.kid}).")
    if created:
        log_key_events(runtime, key_events(created, "created", "serve"))
    try:
        open_session_secret(settings)
    except KeyFileError as exc:
        runtime.close()
        fail(
            str(exc),
            hint="Check KETENPOORT_KEY_PASSPHRASE; a damaged file can be deleted "
            "(a new secret then logs every web user out).",
        )
    try:
        _ = runtime.policy
    except PolicyError as exc:
        runtime.close()
        for problem in exc.problems:
            where = f"{problem.file}:{problem.line}" if problem.line is not None else problem.file
            err_console.print(f"{where}: {problem.message}", highlight=False, markup=False)
        fail(f"the covenants in {settings.policy_dir} have errors; nothing is served.")
    return runtime


def run(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    if workers > 1:
        _run_workers(settings, host, port, workers)
        return
    runtime = prepare(settings)
    app = create_app(settings, runtime)
    console.print(f"Ketenpoort luistert op http://{host}:{port}  (issuer {settings.base_url})")
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False, **server_stack())


def _run_workers(settings: Settings, host: str, port: int, workers: int) -> None:
    """Several processes on one port, each with its own SO_REUSEPORT socket (docs/operations.md)."""
    from gateway.cli.workers import Supervisor

    if settings.is_sqlite:
        fail(
            f"--workers {workers} needs PostgreSQL: SQLite allows one writing process.",
            hint="Use --workers 1 with SQLite, or set KETENPOORT_DATABASE_URL to PostgreSQL.",
        )
    prepare(settings).close()  # migrations, keys and covenant checks once, before any worker
    console.print(
        f"Ketenpoort luistert op http://{host}:{port} met {workers} workers  "
        f"(issuer {settings.base_url})"
    )
    Supervisor(host, port, workers).run()


def _redacted(url: str) -> str:
    """The URL without a password, safe to print."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"
