"""Full verify on a kept log, to measure one change at a time: ``python -m bench.verify_bench``.

``bench.audit_scale_bench`` builds its log, measures and drops it; tuning
``audit verify`` needs the same log measured again after every change. This
builds a log once into a kept place (``--dir``: the PostgreSQL database
``ketenpoort_verify_bench``, a SQLite file, the key directory and the
checkpoint signer's key) and then, on every run:

- the full parallel verify (``verify_database`` with ``--workers``): entries/s
  and CPU seconds per million entries of the verifying processes;
- one worker's CPU per entry: one slice checked in this process
  (``check_slice``), ``time.process_time`` over ``--repeat`` runs, best kept.

PostgreSQL: subject-less entries by :class:`bench.bulk_loader.BulkLoader` plus
the inzage person's 60 entries through ``append_sync``, then ``VACUUM (FREEZE,
ANALYZE)``. SQLite: the same kinds of entries through ``append_sync`` in
batches (the write path; a few minutes for 1M), every 1000th with a subject.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from bench.audit_bench import DEFAULT_PG, make_event
from bench.audit_scale_bench import grow, vacuum
from bench.bulk_loader import BulkLoader, conninfo
from gateway.audit.integrity import verify_database
from gateway.audit.log import AuditLog
from gateway.audit.parallel_verify import SLICE, SliceJob, check_slice
from gateway.audit.signer import Ed25519Signer
from gateway.audit.store import head_size
from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import Database
from gateway.wiring.audit_log import build_audit_log

PG_NAME = "ketenpoort_verify_bench"


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _signer(path: Path) -> Ed25519Signer:
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        )
        path.write_bytes(pem)
    key = load_pem_private_key(path.read_bytes(), None)
    assert isinstance(key, Ed25519PrivateKey)
    return Ed25519Signer(key)


def _pg_url(base: str) -> str:
    admin_url = base.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{PG_NAME}"'))
    except DBAPIError:
        pass  # exists
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + PG_NAME


def _log(url: str, keys: Path, signer: Ed25519Signer) -> tuple[Database, AuditLog]:
    migrate.upgrade(url)
    settings = Settings(database_url=url, key_dir=keys, dev_mode=True)
    db = Database(settings.sqlalchemy_url, timeout_s=120)
    log = build_audit_log(settings, db, signer)
    log.timeout_s = 120
    return db, log


def build_pg(url: str, log: AuditLog, db: Database, size: int) -> None:
    with db.session() as session:
        have = head_size(session)
    if have >= size:
        return
    loader = BulkLoader(conninfo(url))
    grow(log, loader, have, size, 0)
    loader.close()
    log.checkpoint_now()
    vacuum(url)


def build_sqlite(log: AuditLog, db: Database, size: int) -> None:
    with db.session() as session:
        have = head_size(session)
    while have < size:
        step = min(5000, size - have)
        events = [
            make_event(n) if n % 1000 == 0 else replace(make_event(n), subject_pseudonym=None)
            for n in range(have, have + step)
        ]
        log.append_sync(events)
        have += step
        if have % 100_000 == 0:
            print(f"[verify] sqlite {have:,}, load {_load()}", flush=True)
            log.checkpoint_now()
    log.checkpoint_now()


def worker_us(db: Database, log: AuditLog, signer: Ed25519Signer, repeat: int) -> float:
    """CPU µs per entry of one slice checked in this process (the second slice: warm)."""
    job = SliceJob(
        url=db.url,
        snapshot=None,
        lo=SLICE,
        hi=2 * SLICE,
        heads=[],
        jwks=dict(signer.jwks()),
        master=log.vault.master(),
        timeout_s=60.0,
        slice_level=16,
    )
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        assert check_slice(db, job).ok
        best = min(best, time.process_time() - start)
    return best / SLICE * 1e6


def measure(name: str, db: Database, log: AuditLog, signer: Ed25519Signer, args: Any) -> None:
    us = worker_us(db, log, signer, args.repeat)
    print(f"[verify] {name}: worker {us:.2f} µs/entry CPU, load {_load()}", flush=True)
    for _ in range(args.runs):
        load = _load()
        start, cpu = time.perf_counter(), _cpu()
        outcome = verify_database(db, signer.jwks(), vault=log.vault, workers=args.workers)
        wall, used = time.perf_counter() - start, _cpu() - cpu
        assert outcome.result.ok, outcome.result.problem
        n = outcome.head_size
        print(
            f"[verify] {name}: {n:,} in {wall:.2f} s = {n / wall:,.0f} entries/s, "
            f"{used / n * 1e6:.2f} CPU s/M ({args.workers} workers), load {load} -> {_load()}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/ketenpoort-verify-bench"))
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument(
        "--postgres", default=os.environ.get("KETENPOORT_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    signer = _signer(args.dir / "signer.pem")
    for backend in args.backends.split(","):
        if backend == "postgresql":
            url = _pg_url(args.postgres)
            db, log = _log(url, args.dir / "keys-pg", signer)
            build_pg(url, log, db, args.size)
        else:
            url = f"sqlite:///{args.dir / 'audit.sqlite'}"
            db, log = _log(url, args.dir / "keys-sqlite", signer)
            build_sqlite(log, db, args.size)
        measure(backend, db, log, signer, args)
        db.dispose()


if __name__ == "__main__":
    main()
