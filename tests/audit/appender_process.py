"""A separate OS process that appends to the audit log: ``python -m tests.audit.appender_process
URL KEY_DIR BATCHES [--forever]``. Prints one line per committed batch."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from gateway.settings import Settings
from gateway.storage.db import Database
from gateway.wiring.audit_log import build_audit_log
from tests.audit.conftest import event


async def _run(url: str, key_dir: Path, batches: int, forever: bool) -> None:
    settings = Settings(database_url=url, key_dir=key_dir, dev_mode=True)
    db = Database(settings.sqlalchemy_url, timeout_s=10)
    log = build_audit_log(settings, db)
    log.timeout_s = 10
    log.start()
    n = 0
    try:
        while forever or n < batches:
            seqs = await asyncio.gather(*(log.append([event(n + i)]) for i in range(5)))
            print(len(seqs), flush=True)
            n += 1
    finally:
        log.stop()
        db.dispose()


if __name__ == "__main__":
    asyncio.run(_run(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), "--forever" in sys.argv))
