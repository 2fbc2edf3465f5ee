"""Chaos on real processes: two ``ketenpoort serve`` on one disposable PostgreSQL, under load.

The database is stopped (``pg_ctl stop -m immediate``), frozen (SIGSTOP of the
postmaster and every backend) and brought back; an instance is killed with
SIGKILL; keys are rotated while ``audit verify`` and ``retention run`` run
alongside the load. Throughout: never a 500, a 503 problem (with Retry-After)
within ``db_timeout_s`` + 1 s, recovery without a restart, every delivered 200
in the audit log, and a log that verifies, also after a dump and restore,
where a tampered entry is found. Figures are printed (``pytest -s``) for
docs/operations.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gateway.demo.partner_client import PartnerClient
from gateway.demo.partners import load_partner_key
from gateway.demo.stack import DEMO_COVENANT
from tests.reliability.chaos_support import (
    Instance,
    Load,
    PgCluster,
    Sample,
    Shared,
)
from tests.reliability.support import PURPOSE, free_port
from tests.web.conftest import login

pytestmark = pytest.mark.slow

DB_TIMEOUT_S = 2.0
IN_TIME_S = DB_TIMEOUT_S + 1.0
RECOVER_WITHIN_S = 10.0
DATABASE = "chaos"
KNOWN_FALSE_ALARM = "entries were removed or added"
UNAVAILABLE_TYPES = {
    "urn:ketenpoort:problem:unavailable",
    "urn:ketenpoort:problem:audit-unavailable",
}


@dataclass
class Deployment:
    pg: PgCluster
    shared: Shared
    a: Instance
    b: Instance
    load: Load


@pytest.fixture(scope="module")
def deployment(
    pg_cluster: PgCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    pg = pg_cluster
    workdir = tmp_path_factory.mktemp("chaos")
    shared: Shared | None = None
    instances: list[Instance] = []
    load: Load | None = None
    try:
        pg.create_database(DATABASE)
        # One issuer for both instances, as behind a proxy: a token from either works on both.
        a_port = free_port()
        shared = Shared(workdir, pg.url(DATABASE), f"http://127.0.0.1:{a_port}", DB_TIMEOUT_S)
        shared.prepare()
        a, b = Instance(shared, "a", port=a_port), Instance(shared, "b")
        instances += [a, b]
        a.start(wait=False)
        b.start(wait=False)
        a.wait_ready()
        b.wait_ready()
        case_id = shared.open_case(a.url)
        load = Load(shared, case_id, {"a": a.url, "b": b.url})
        load.start()
        yield Deployment(pg, shared, a, b, load)
    finally:
        if load is not None:
            load.stop()
        for instance in instances:
            instance.stop()
        if shared is not None:
            shared.close()
        if not pg.running():
            pg.start()


def _settle(deployment: Deployment, seconds: float) -> None:
    time.sleep(seconds)


def _flowing(load: Load, within_s: float = 20.0) -> bool:
    """Some query answered 200 in the last 1.5 s, waiting for that up to ``within_s``: on a
    loaded CI box a 1.5 s window can pass without any answer while nothing is wrong."""
    deadline = time.monotonic() + within_s
    while True:
        now = time.monotonic()
        if any(s.status == 200 for s in load.between(now - 1.5, now)):
            return True
        if now > deadline:
            return False
        time.sleep(0.2)


def _never_500(samples: list[Sample], killed: str | None = None) -> None:
    """Only 200 or a 503 problem with Retry-After; no answer at all only from a killed instance."""
    for sample in samples:
        if sample.status == 0:
            assert sample.target == killed, f"no answer from {sample.target}"
            continue
        assert sample.status in (200, 503), sample
        if sample.status == 503:
            assert sample.problem_type in UNAVAILABLE_TYPES, sample
            assert sample.retry_after is not None, sample


def _answered_since(load: Load, since: float, within_s: float = 20.0) -> list[Sample]:
    """The answers that started after ``since``, waiting up to ``within_s`` for a
    first one: on a loaded CI box a one-second window can close before any answer does."""
    deadline = time.monotonic() + within_s
    while True:
        answered = load.between(since, time.monotonic())
        if answered or time.monotonic() >= deadline:
            return answered
        time.sleep(0.05)


def _recovery(load: Load, since: float, target: str) -> float:
    """Seconds from ``since`` until the first 200 of ``target`` that started after it."""
    deadline = since + RECOVER_WITHIN_S + 5
    while time.monotonic() < deadline:
        ok = [s for s in load.between(since, time.monotonic(), target) if s.status == 200]
        if ok:
            return min(s.end for s in ok) - since
        time.sleep(0.05)
    raise AssertionError(f"{target} did not recover within {RECOVER_WITHIN_S} s")


def _not_ready(instance: Instance) -> None:
    answer = httpx.get(instance.url + "/health/ready", timeout=IN_TIME_S + 2)
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["check"] == "database"


def _web_and_token_refused(deployment: Deployment, web: httpx.Client) -> None:
    """A web page and the token endpoint answer 503 with Retry-After too, in time."""
    started = time.monotonic()
    page = web.get("/privacy/entries/1", timeout=IN_TIME_S + 2)
    assert page.status_code == 503, page.text
    assert page.headers["content-type"].startswith("application/problem+json")
    assert "retry-after" in page.headers
    partner = PartnerClient(
        deployment.shared.base_url,
        "gemeente-demo",
        load_partner_key(deployment.shared.key_dir, "gemeente-demo"),
        client=httpx.Client(base_url=deployment.b.url, timeout=IN_TIME_S + 2),
    )
    try:
        token = partner.request_token(DEMO_COVENANT, PURPOSE)
    finally:
        partner.close()
    assert token.status_code == 503, token.text
    assert token.json()["error"] == "temporarily_unavailable"
    assert "retry-after" in token.headers
    assert time.monotonic() - started <= 2 * IN_TIME_S


def _report(name: str, figures: dict[str, object]) -> None:
    print(f"\nCHAOS {name}: {json.dumps(figures, sort_keys=True)}")


def _outage(deployment: Deployment, name: str, fault: str) -> None:
    load, pg = deployment.load, deployment.pg
    _settle(deployment, 1.5)
    assert _flowing(load), "no load before"
    before = time.monotonic()
    web = login(deployment.a.url, "fg.demo")  # a privacy officer's browser session
    start = time.monotonic()
    if fault == "stop":
        pg.stop("immediate")
    else:
        pg.freeze()
    try:
        time.sleep(IN_TIME_S + 1.0)
        _not_ready(deployment.a)
        _not_ready(deployment.b)
        _web_and_token_refused(deployment, web)
    finally:
        web.close()
        restored = time.monotonic()
        if fault == "stop":
            pg.start()
        else:
            pg.thaw()
    during = load.between(start, restored)
    # Requests in flight when the fault began may still have finished with a 200.
    assert not [s for s in during if s.status == 200 and s.start > start + 0.5], "200 without a DB"
    refused = [s for s in during if s.status == 503]
    assert refused, "no 503 during the outage"
    slowest = max(s.latency for s in load.overlapping(start, restored))
    assert slowest <= IN_TIME_S, f"a request took {slowest:.2f} s (limit {IN_TIME_S} s)"
    # When the first refusal reached a client, counted from the fault (in-flight requests too).
    refusals = [s for s in load.overlapping(start, restored) if s.status == 503]
    first_503 = {t: min(s.end for s in refusals if s.target == t) - start for t in ("a", "b")}
    recovered = {t: _recovery(load, restored, t) for t in ("a", "b")}
    _settle(deployment, 1.5)
    after = _answered_since(load, restored + max(recovered.values()) + 0.5)
    assert after and all(s.status == 200 for s in after), [s for s in after if s.status != 200]
    _never_500(load.between(before - 1.5, time.monotonic()))
    _report(
        name,
        {
            "db_timeout_s": DB_TIMEOUT_S,
            "first_503_s": {t: round(v, 2) for t, v in first_503.items()},
            "slowest_answer_during_s": round(slowest, 2),
            "answers_during": len(during),
            "recovered_after_s": {t: round(v, 2) for t, v in recovered.items()},
        },
    )


def test_database_stopped_gives_503_in_time_and_recovers(deployment: Deployment) -> None:
    """Promise 5 (fail closed): with PostgreSQL gone every answer is a 503, never a 500.

    ``pg_ctl stop -m immediate`` under load on two instances: each request gets
    a 503 problem with Retry-After within db_timeout_s + 1 s, /health/ready says
    not ready, and both instances serve again once the database is back, with
    no restart of their own.
    """
    _outage(deployment, "stop", "stop")


def test_database_frozen_gives_503_in_time_and_recovers(deployment: Deployment) -> None:
    """Promise 5 (fail closed): a frozen database (SIGSTOP) does not hang requests.

    The kernel keeps accepting and acknowledging for a stopped postmaster, so
    only the gateway's own deadlines notice: every request still gets its 503
    within db_timeout_s + 1 s, and everything recovers after SIGCONT.
    """
    _outage(deployment, "freeze", "freeze")


def test_killed_instance_leaves_the_other_serving(deployment: Deployment) -> None:
    """Promise 5: SIGKILL of one instance mid-load; the other answers 200 throughout.

    The restarted instance rejoins the same database and log; whatever the
    killed one answered before it died is in the log (checked at the end).
    """
    load = deployment.load
    _settle(deployment, 1.0)
    start = time.monotonic()
    deployment.a.kill9()
    time.sleep(1.5)
    deployment.a.start()
    rejoined = time.monotonic()
    _settle(deployment, 1.5)
    on_b = load.between(start, time.monotonic(), "b")
    assert on_b and all(s.status == 200 for s in on_b), [s for s in on_b if s.status != 200]
    recovered = _recovery(load, rejoined, "a")
    _never_500(load.between(start, time.monotonic()), killed="a")
    _report(
        "kill9",
        {
            "restart_to_ready_s": round(rejoined - start - 1.5, 2),
            "first_200_s": round(recovered, 2),
        },
    )


def test_rotation_verify_and_retention_alongside_the_load(deployment: Deployment) -> None:
    """Promises 6 and 8: key rotation, ``audit verify`` and ``retention run`` beside live traffic.

    All three run at once as their own processes while both instances serve;
    they succeed, the load sees no 500, and a fresh login after the rotation
    works on both instances (they share the key directory).
    """
    shared, load = deployment.shared, deployment.load
    start = time.monotonic()
    commands = [("keys", "rotate", "--use", "all"), ("audit", "verify"), ("retention", "run")]
    with ThreadPoolExecutor(len(commands)) as pool:
        done = list(pool.map(lambda args: shared.cli(*args), commands))
    rotate, verify, retention = done
    assert rotate.returncode == 0, rotate.stderr[-2000:]
    assert retention.returncode in (0, 3), retention.stdout[-1000:] + retention.stderr[-2000:]
    for instance in (deployment.a, deployment.b):
        client = shared.client(instance.url)
        try:
            assert client.query(load.case_id, ["huisvesting"]).status_code == 200
        finally:
            client.close()
    during = load.between(start, time.monotonic())
    assert during
    _never_500(during)
    assert all(s.status == 200 for s in during), [s for s in during if s.status != 200][:5]
    output = " ".join((verify.stdout + verify.stderr).split())
    # verify reads one snapshot (docs/audit.md): beside live appends it never falsely alarms
    assert KNOWN_FALSE_ALARM not in output, output
    assert verify.returncode == 0, output


def test_every_delivered_answer_is_logged_and_the_log_verifies(deployment: Deployment) -> None:
    """Promises 5 and 6: each 200 the load received has its disclosure entries; verify passes.

    Checked after all the faults above: a disclosure that left the gateway
    while its database was failing, or just before an instance was killed, would
    show up here as a 200 whose trace has no entries.
    """
    deployment.load.stop()
    delivered = [s for s in deployment.load.samples if s.status == 200]
    assert len(delivered) > 50
    rows = deployment.pg.psql(
        DATABASE,
        "SELECT body::json->>'trace_id', count(*) FROM audit_entries "
        "WHERE kind = 'disclosure' GROUP BY 1",
    )
    logged = {line.split("|")[0]: int(line.split("|")[1]) for line in rows.splitlines() if line}
    missing = [
        s for s in delivered if s.trace_id is None or logged.get(s.trace_id, 0) < s.disclosed
    ]
    assert not missing, f"{len(missing)} delivered answers without log entries: {missing[:3]}"
    verify = deployment.shared.cli("audit", "verify")
    assert verify.returncode == 0, verify.stdout[-1000:] + verify.stderr[-2000:]
    _never_500(deployment.load.samples, killed="a")
    statuses: dict[str, int] = {}
    for sample in deployment.load.samples:
        statuses[str(sample.status)] = statuses.get(str(sample.status), 0) + 1
    _report("totals", {"answers": statuses, "delivered": len(delivered)})


def test_restored_dump_verifies_and_tampering_is_found(deployment: Deployment) -> None:
    """Promise 6: a pg_dump restored elsewhere verifies; one changed entry body is named.

    The restore is what an operator does after losing the server; the tamper is
    what an insider with database access could do to it.
    """
    pg, shared = deployment.pg, deployment.shared
    dump: Path = pg.dump(DATABASE)
    pg.restore(dump, "restored")
    restored = pg.url("restored")
    clean = shared.cli("audit", "verify", database_url=restored)
    assert clean.returncode == 0, clean.stdout[-1000:] + clean.stderr[-2000:]
    seq = pg.psql("restored", "SELECT min(seq) FROM audit_entries WHERE kind = 'disclosure'")
    pg.psql(
        "restored",
        'UPDATE audit_entries SET body = replace(body, \'"outcome":"ok"\', '
        f'\'"outcome":"denied"\') WHERE seq = {int(seq)}',
    )
    assert '"outcome":"denied"' in pg.psql(
        "restored", f"SELECT body FROM audit_entries WHERE seq = {int(seq)}"
    )
    tampered = shared.cli("audit", "verify", database_url=restored)
    assert tampered.returncode == 1, tampered.stdout[-1000:] + tampered.stderr[-2000:]
    assert f"first bad seq {int(seq)}" in " ".join((tampered.stdout + tampered.stderr).split())
