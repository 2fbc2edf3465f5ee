"""A gateway as its own process (``ketenpoort serve``) plus demo sources: crash and soak tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from gateway.demo.partner_client import PartnerClient
from gateway.demo.partners import ensure_partner_keys, load_partner_key
from gateway.demo.runner import DemoSources, start_demo_sources
from gateway.demo.stack import DEMO_COVENANT, copy_policies
from gateway.demodata.people import DEMO_SOURCE_PARTIES, demo_people
from gateway.policy.loader import load_policy_dir

REPO = Path(__file__).resolve().parents[2]
PURPOSE = "pga-casusoverleg"
BSN = demo_people()[0].bsn.reveal()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServedGateway:
    """``python -m gateway.cli.main serve`` on a prepared directory; restartable."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    sources: DemoSources | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            "KETENPOORT_DATABASE_URL": f"sqlite:///{self.workdir / 'ketenpoort.db'}",
            "KETENPOORT_POLICY_DIR": str(self.workdir / "policies"),
            "KETENPOORT_KEY_DIR": str(self.workdir / "keys"),
            "KETENPOORT_BASE_URL": self.base_url,
            "KETENPOORT_DEV_MODE": "true",
        }

    def prepare(self) -> None:
        self.sources = start_demo_sources(
            dict.fromkeys(DEMO_SOURCE_PARTIES, 0), self.base_url + "/oauth/jwks", delays={}
        )
        copy_policies(REPO / "policies", self.workdir / "policies", self.sources.base_urls)
        for covenant in load_policy_dir(self.workdir / "policies", require_keys=False).covenants:
            ensure_partner_keys(covenant, self.workdir / "keys")

    def start(self) -> None:
        args = [sys.executable, "-m", "gateway.cli.main", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(
            args,
            cwd=self.workdir,
            env={**os.environ, **self.env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "ketenpoort serve exited during start-up"
            try:
                if httpx.get(self.base_url + "/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError("ketenpoort serve did not become ready")

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def close(self) -> None:
        self.stop()
        if self.sources is not None:
            self.sources.stop()

    def rss_kib(self) -> int:
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(ln for ln in status.splitlines() if ln.startswith("VmRSS:"))
        return int(line.split()[1])

    def client(self, party: str) -> PartnerClient:
        client = PartnerClient(self.base_url, party, load_partner_key(self.workdir / "keys", party))
        client.login(DEMO_COVENANT, PURPOSE)
        return client

    def open_case(self) -> str:
        gemeente = self.client("gemeente-demo")
        try:
            opened = gemeente.open_case(
                DEMO_COVENANT, PURPOSE, BSN, ["gemeente-demo", "ggz-demo"], "casusoverleg"
            )
            assert opened.status_code == 201, opened.text
            return str(opened.json()["id"])
        finally:
            gemeente.close()
