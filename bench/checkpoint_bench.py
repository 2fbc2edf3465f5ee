"""Time until an appended entry is covered by a signed checkpoint.

``python -m bench.checkpoint_bench [--samples N]``. The audit log runs as in
``serve`` (writer and checkpointer threads, the default 1 s interval); each
sample appends one event at a random moment and polls for the first signed
head whose size covers it. The baseline is the commit alone: that is when
the entry is durable, the checkpoint is when it becomes publicly provable.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.audit_bench import make_event
from bench.report import Figure, Section, median, percentile, render, write
from gateway.audit.checkpoints import latest_checkpoint
from gateway.audit.signer import Ed25519Signer
from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import Database
from gateway.wiring.audit_log import build_audit_log

GOAL_S = 2.0


def run(samples: int) -> Section:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'checkpoint.db'}"
        migrate.upgrade(url)
        settings = Settings(database_url=url, key_dir=Path(tmp) / "keys", dev_mode=True)
        db = Database(settings.sqlalchemy_url, timeout_s=5)
        log = build_audit_log(settings, db, Ed25519Signer(Ed25519PrivateKey.generate()))
        log.start()
        rng = random.Random(3)
        commits, covered = [], []
        try:
            for n in range(samples):
                time.sleep(rng.uniform(0, settings.checkpoint_interval_s))
                start = time.perf_counter()
                [seq] = log.append_sync([make_event(n)])
                commits.append(time.perf_counter() - start)
                while True:
                    with db.session() as session:
                        head = latest_checkpoint(session)
                    if head is not None and head.size > seq:
                        break
                    time.sleep(0.005)
                covered.append(time.perf_counter() - start)
        finally:
            log.stop()
            db.dispose()
    worst = max(covered)
    return Section(
        "Time until an entry is in a signed checkpoint (SQLite, 1 s interval)",
        [
            Figure(
                "append → covered by signed checkpoint",
                f"p50 {median(covered):.3f} s, p99 {percentile(covered, 0.99):.3f} s, "
                f"max {worst:.3f} s",
                f"commit alone p50 {median(commits) * 1000:.2f} ms",
                f"{median(covered) / median(commits):,.0f}x",
                f"≤ {GOAL_S:g} s",
                worst <= GOAL_S,
                f"{samples} samples at random moments",
            )
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    section = run(args.samples)
    text = render("Checkpoint latency", "python -m bench.checkpoint_bench", [section], [])
    print(text)
    write("checkpoint.md", text)


if __name__ == "__main__":
    main()
