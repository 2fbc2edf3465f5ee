"""One-off jobs from the command line (``retention run``, ``rights sync-peers``).

Both build the runtime, refuse an outdated schema, run one coroutine in their
own event loop and turn the failures an operator can act on into one line and
exit status 2, never a traceback (which could carry personal data).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError

from gateway.audit.log import AuditUnavailable
from gateway.cli.console import fail, load_settings
from gateway.policy.errors import PolicyError
from gateway.storage.migrate import is_current
from gateway.wiring import Runtime

T = TypeVar("T")


def run_job(job: Callable[[Runtime], Awaitable[T]]) -> T:
    """``job`` on a fresh runtime in its own event loop; closed whatever happens."""
    runtime = Runtime.build(load_settings())
    try:
        if not is_current(runtime.db.engine):
            fail("the database schema is not current", hint="Run `ketenpoort db upgrade` first.")
        return asyncio.run(job(runtime))  # type: ignore[arg-type]
    except PolicyError as exc:
        fail(f"the covenants have errors ({len(exc.problems)}); nothing was done.")
    except SQLAlchemyError as exc:
        fail(f"database error ({type(exc).__name__}); the run stopped.")
    except AuditUnavailable as exc:
        fail(f"the audit log is not writable ({exc}); the run stopped.")
    finally:
        runtime.close()
