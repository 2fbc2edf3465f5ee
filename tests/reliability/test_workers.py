"""``ketenpoort serve --workers N``: the workers share the load; SQLite refuses several.

The distribution is measured where it happens: the CPU ticks each worker
process spent (``/proc/<pid>/stat``) while clients sent queries on fresh
connections for a few seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.reliability.chaos_support import (
    Instance,
    PgCluster,
    Shared,
    child_pids,
    cpu_ticks,
)
from tests.reliability.support import free_port

pytestmark = pytest.mark.slow

WORKERS = 2
LOAD_S = 6.0
CLIENTS = 6
FAIR_SHARE = 0.25


@pytest.fixture(scope="module")
def two_workers(
    pg_cluster: PgCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Shared, Instance]]:
    pg = pg_cluster
    tmp_path = tmp_path_factory.mktemp("workers")
    shared: Shared | None = None
    instance: Instance | None = None
    try:
        pg.create_database("workers")
        port = free_port()
        shared = Shared(tmp_path, pg.url("workers"), f"http://127.0.0.1:{port}", 2.0)
        shared.prepare()
        instance = Instance(shared, "workers", port=port, extra_args=("--workers", str(WORKERS)))
        instance.start()
        yield shared, instance
    finally:
        if instance is not None:
            instance.stop()
        if shared is not None:
            shared.close()


def _workers(instance: Instance) -> list[int]:
    assert instance.process is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = child_pids(instance.process.pid, "spawn_main")
        if len(pids) == WORKERS:
            return pids
        time.sleep(0.1)
    raise AssertionError(f"expected {WORKERS} worker processes")


def test_workers_share_the_load(two_workers: tuple[Shared, Instance]) -> None:
    """Several workers on one port each take a fair share (SO_REUSEPORT per worker).

    With one shared accept socket (``uvicorn --workers``) one worker took ~99%
    of the CPU; here each of two workers must do at least a quarter of the work.
    """
    shared, instance = two_workers
    workers = _workers(instance)
    case_id = shared.open_case(instance.url)
    for _ in range(20):  # every worker is listening and warm
        assert httpx.get(instance.url + "/health/ready", timeout=10).status_code == 200
    before = {pid: cpu_ticks(pid) for pid in workers}
    stop = time.monotonic() + LOAD_S
    statuses: list[int] = []

    def client() -> None:
        partner = shared.client(instance.url, keepalive=False)
        try:
            while time.monotonic() < stop:
                statuses.append(partner.query(case_id, ["huisvesting"]).status_code)
        finally:
            partner.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(LOAD_S + 60)
    spent = {pid: cpu_ticks(pid) - before[pid] for pid in workers}
    total = sum(spent.values())
    shares = {pid: round(ticks / total, 2) for pid, ticks in spent.items()}
    print(f"\nWORKERS ticks {spent} shares {shares} answers {len(statuses)}")
    assert statuses and set(statuses) == {200}, set(statuses)
    assert all(share >= FAIR_SHARE for share in shares.values()), shares


def test_a_dead_worker_is_replaced(two_workers: tuple[Shared, Instance]) -> None:
    """Promise 5: SIGKILL of one worker; the other answers, the supervisor starts a new one."""
    _shared, instance = two_workers
    victim, survivor = _workers(instance)
    os.kill(victim, signal.SIGKILL)
    for _ in range(10):  # fresh connections: the kernel only picks live sockets
        with httpx.Client(timeout=10) as client:
            assert client.get(instance.url + "/health/live").status_code == 200
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert instance.process is not None
        pids = child_pids(instance.process.pid, "spawn_main")
        if len(pids) == WORKERS and victim not in pids:
            assert survivor in pids
            return
        time.sleep(0.2)
    raise AssertionError("the killed worker was not replaced")


def test_sqlite_refuses_several_workers(tmp_path: Path) -> None:
    """SQLite allows one writing process: ``--workers 2`` on SQLite stops with a clear message."""
    env = {
        **os.environ,
        "KETENPOORT_DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}",
        "KETENPOORT_KEY_DIR": str(tmp_path / "keys"),
        "KETENPOORT_DEV_MODE": "true",
    }
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "serve", "--workers", "2", "--port", "1"],
        env={**env, "COLUMNS": "200"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "needs PostgreSQL" in " ".join(done.stderr.split())
    assert not (tmp_path / "k.db").exists(), "nothing may be created before the refusal"
