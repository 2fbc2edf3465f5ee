"""Real processes for the chaos suite: a disposable PostgreSQL cluster, gateway instances, load.

Nothing here is simulated: PostgreSQL is its own ``postgres`` process tree
(initdb into a temporary directory, a free port), every gateway is a
``ketenpoort serve`` process, and the faults are signals and ``pg_ctl``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from gateway.demo.partner_client import PartnerClient
from gateway.demo.partners import ensure_partner_keys, load_partner_key
from gateway.demo.runner import DemoSources, start_demo_sources
from gateway.demo.stack import DEMO_COVENANT, copy_policies
from gateway.demodata.people import DEMO_SOURCE_PARTIES
from gateway.policy.loader import load_policy_dir
from tests.reliability.support import BSN, PURPOSE, REPO, free_port

PG_USER = "postgres"


def postgres_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<major>/bin`` with initdb (Debian layout), or PATH."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def require_postgres_binaries() -> Path:
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) not installed: apt install postgresql"
        )
    return bindir


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def child_pids(parent: int, marker: str) -> list[int]:
    """Children of ``parent`` whose command line contains ``marker``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[1]) == parent and marker in cmdline:
            found.append(int(stat.parent.name))
    return sorted(found)


def _as_postgres() -> list[str]:
    """PostgreSQL refuses to run as root: drop to the ``postgres`` user when we are root."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", PG_USER, "--"]


@dataclass
class PgCluster:
    """A throw-away cluster: ``initdb`` into a temp dir, 127.0.0.1:<free port>, trust auth."""

    bindir: Path
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ketenpoort-pg-")))
    port: int = field(default_factory=free_port)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*_as_postgres(), str(self.bindir / tool), *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=60,
        )

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, PG_USER, PG_USER)
        self._run(
            "initdb", "-D", str(self.datadir), "-U", PG_USER, "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        settings = (
            f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
            "fsync = off\nmax_connections = 200\nshared_buffers = 32MB\n"
        )
        with (self.datadir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(settings)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.root / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "stop", check=False)

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.datadir), "status", check=False).returncode == 0

    def postmaster_pid(self) -> int:
        return int((self.datadir / "postmaster.pid").read_text().split()[0])

    def children(self) -> list[int]:
        """The postmaster's children (backends, checkpointer, walwriter, ...)."""
        root = self.postmaster_pid()
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == root:
                children.append(int(stat.parent.name))
        return children

    def freeze(self) -> None:
        """SIGSTOP the postmaster first (it forks no more), then every child it has."""
        os.kill(self.postmaster_pid(), signal.SIGSTOP)
        for pid in self.children():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self.children():
            os.kill(pid, signal.SIGCONT)
        os.kill(self.postmaster_pid(), signal.SIGCONT)

    def url(self, database: str) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def psql(self, database: str, sql: str) -> str:
        done = self._run(
            "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
            "-p", str(self.port), "-U", PG_USER, "-d", database, "-c", sql,
        )  # fmt: skip
        return done.stdout.strip()

    def create_database(self, name: str) -> None:
        self.psql("postgres", f'CREATE DATABASE "{name}"')

    def dump(self, database: str) -> Path:
        target = self.root / f"{database}.dump"
        self._run(
            "pg_dump", "-Fc", "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER,
            "-f", str(target), database,
        )  # fmt: skip
        return target

    def restore(self, dump: Path, database: str) -> None:
        self.create_database(database)
        self._run(
            "pg_restore", "--no-owner", "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER,
            "-d", database, str(dump),
        )  # fmt: skip

    def destroy(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.thaw()
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Shared:
    """What every instance of one deployment shares: policies, keys, the issuer URL, the sources."""

    workdir: Path
    database_url: str
    base_url: str
    db_timeout_s: float
    sources: DemoSources | None = None

    @property
    def policy_dir(self) -> Path:
        return self.workdir / "policies"

    @property
    def key_dir(self) -> Path:
        return self.workdir / "keys"

    def prepare(self, jwks_url: str | None = None) -> None:
        # By default the sources' own token check is off (jwks None): the chaos suite
        # is about the gateway's storage, and a killed instance must not take the
        # JWKS with it. The deployment test passes the proxy's JWKS.
        parties = dict.fromkeys(DEMO_SOURCE_PARTIES, 0)
        self.sources = start_demo_sources(parties, jwks_url, delays={})
        copy_policies(REPO / "policies", self.policy_dir, self.sources.base_urls)
        for covenant in load_policy_dir(self.policy_dir, require_keys=False).covenants:
            ensure_partner_keys(covenant, self.key_dir)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KETENPOORT_DATABASE_URL": self.database_url,
            "KETENPOORT_POLICY_DIR": str(self.policy_dir),
            "KETENPOORT_KEY_DIR": str(self.key_dir),
            "KETENPOORT_BASE_URL": self.base_url,
            "KETENPOORT_DEV_MODE": "true",
            "KETENPOORT_DB_TIMEOUT_S": str(self.db_timeout_s),
            "KETENPOORT_CHECKPOINT_INTERVAL_S": "0.5",
        }

    def cli(
        self, *args: str, timeout_s: float = 120, database_url: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``ketenpoort <args>`` as its own process, on the shared settings."""
        env = {**self.env(), "COLUMNS": "200"}
        if database_url is not None:
            env["KETENPOORT_DATABASE_URL"] = database_url
        return subprocess.run(
            [sys.executable, "-m", "gateway.cli.main", *args],
            cwd=self.workdir,
            env=env,
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )

    def client(
        self, instance_url: str, party: str = "gemeente-demo", *, keepalive: bool = True
    ) -> PartnerClient:
        """A partner client for the shared issuer, talking to one instance (or the proxy).

        Without keep-alive every request opens a new connection (as many clients would).
        """
        limits = httpx.Limits(max_keepalive_connections=None if keepalive else 0)
        http = httpx.Client(base_url=instance_url, timeout=30.0, limits=limits)
        key = load_partner_key(self.key_dir, party)
        client = PartnerClient(self.base_url, party, key, client=http)
        client.login(DEMO_COVENANT, PURPOSE)
        return client

    def open_case(self, instance_url: str) -> str:
        gemeente = self.client(instance_url)
        try:
            opened = gemeente.open_case(
                DEMO_COVENANT, PURPOSE, BSN, ["gemeente-demo", "ggz-demo"], "casusoverleg"
            )
            assert opened.status_code == 201, opened.text
            return str(opened.json()["id"])
        finally:
            gemeente.close()

    def close(self) -> None:
        if self.sources is not None:
            self.sources.stop()


@dataclass
class Instance:
    """One ``ketenpoort serve`` process of a deployment."""

    shared: Shared
    name: str
    port: int = field(default_factory=free_port)
    extra_args: Sequence[str] = ()
    env: dict[str, str] | None = None  # instead of the shared settings (the deploy test)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.shared.workdir / f"{self.name}.log"

    def start(self, wait: bool = True) -> None:
        args = [sys.executable, "-m", "gateway.cli.main", "serve", "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*args, *self.extra_args],
                cwd=self.shared.workdir,
                env=self.env if self.env is not None else self.shared.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout_s: float = 60) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not become ready")

    def kill9(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass(frozen=True)
class Sample:
    """One request of the load: when it started and ended (monotonic), what came back."""

    target: str
    start: float
    end: float
    status: int  # 0: no HTTP answer (connection refused or reset)
    problem_type: str | None
    retry_after: str | None
    trace_id: str | None
    disclosed: int

    @property
    def latency(self) -> float:
        return self.end - self.start


@dataclass
class Load:
    """Bounded load: ``per_target`` threads per target, each one query at a time, paced."""

    shared: Shared
    case_id: str
    targets: dict[str, str]
    per_target: int = 2
    pause_s: float = 0.02
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        self._stop.clear()
        for name, url in self.targets.items():
            for _ in range(self.per_target):
                thread = threading.Thread(target=self._run, args=(name, url), daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)
        self._threads.clear()

    def _run(self, name: str, url: str) -> None:
        client: PartnerClient | None = None
        while not self._stop.is_set():
            start = time.monotonic()
            try:
                if client is None:
                    client = self.shared.client(url)
                response = client.query(self.case_id, ["huisvesting", "sociale_relaties"])
            except httpx.HTTPStatusError as exc:  # login refused (e.g. 503 during an outage)
                self._record(name, start, exc.response)
                time.sleep(0.1)
                continue
            except httpx.HTTPError:
                self._add(Sample(name, start, time.monotonic(), 0, None, None, None, 0))
                if client is not None:
                    client.close()
                client = None
                time.sleep(0.1)
                continue
            self._record(name, start, response)
            if response.status_code == 401 and client is not None:
                client.close()
                client = None
            time.sleep(self.pause_s)
        if client is not None:
            client.close()

    def _record(self, name: str, start: float, response: httpx.Response) -> None:
        end = time.monotonic()
        problem_type = trace_id = None
        disclosed = 0
        content_type = response.headers.get("content-type", "")
        if content_type.startswith("application/problem+json"):
            problem_type = str(response.json().get("type"))
        elif response.status_code == 200 and content_type.startswith("application/json"):
            body = response.json()
            trace_id = body.get("trace_id")
            disclosed = sum(1 for r in body.get("results", []) if r.get("status") == "ok")
        retry_after = response.headers.get("retry-after")
        sample = Sample(
            name, start, end, response.status_code, problem_type, retry_after, trace_id, disclosed
        )
        self._add(sample)

    def _add(self, sample: Sample) -> None:
        with self._lock:
            self.samples.append(sample)

    def overlapping(self, start: float, end: float) -> list[Sample]:
        """Samples in flight at any moment of [start, end), including those begun before."""
        with self._lock:
            chosen = list(self.samples)
        return [s for s in chosen if s.start < end and s.end >= start]

    def between(self, start: float, end: float, target: str | None = None) -> list[Sample]:
        """Samples that started in [start, end)."""
        with self._lock:
            chosen = list(self.samples)
        return [
            s for s in chosen if start <= s.start < end and (target is None or s.target == target)
        ]
