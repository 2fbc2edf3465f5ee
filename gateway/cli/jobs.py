"""One-off jobs from the command line (``retention run``, ``rights sync-peers``, reports).

Each builds the runtime, refuses an outdated schema, does its work and turns
the failures an operator can act on into one line and exit status 2, never a
traceback (which could carry personal data).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError

from gateway.audit.log import AuditUnavailable
from gateway.cli.console import fail, load_settings
from gateway.policy.errors import PolicyError
from gateway.storage.migrate import is_current
from gateway.wiring import Runtime

T = TypeVar("T")


@contextmanager
def job_runtime(stopped: str) -> Iterator[Runtime]:
    """A fresh runtime on a current schema, closed whatever happens.

    ``stopped`` ends each failure's line: what the operator may take as done.
    """
    runtime = Runtime.build(load_settings())
    try:
        if not is_current(runtime.db.engine):
            fail("the database schema is not current", hint="Run `ketenpoort db upgrade` first.")
        yield runtime
    except PolicyError as exc:
        fail(f"the covenants have errors ({len(exc.problems)}); {stopped}.")
    except SQLAlchemyError as exc:
        fail(f"database error ({type(exc).__name__}); {stopped}.")
    except AuditUnavailable as exc:
        fail(f"the audit log is not writable ({exc}); {stopped}.")
    finally:
        runtime.close()


def run_job(job: Callable[[Runtime], Awaitable[T]]) -> T:
    """``job`` on a fresh runtime in its own event loop."""
    with job_runtime("the run stopped") as runtime:
        return asyncio.run(job(runtime))  # type: ignore[arg-type]
