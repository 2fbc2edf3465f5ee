"""Two regions on loopback: two `ketenpoort serve` processes, two databases, two covenants.

Region A (zvh-a) has no sources of its own that matter here; it reaches
region B through the `gateway` connector (party `zvh-b`) and has a third peer,
`zvh-c`, whose gateway is down (nothing listens on its port). Region B
(zvh-b) has two demo sources (police, housing corporation) and lists A's
gateway as party `zvh-a` with A's /oauth/jwks as its keys.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from joserfc.jwk import ECKey

from gateway.demo.partner_client import PartnerClient

REPO = Path(__file__).resolve().parents[2]
PURPOSE = "pga-casusoverleg"
ALL_PHASES = ["signalering", "triage", "casusoverleg", "plan_van_aanpak", "nazorg"]
CATEGORIES = [
    {"id": "betrokkenheid", "sensitivity": "gewoon", "fields": ["bekend", "sinds"]},
    {"id": "huisvesting", "sensitivity": "gewoon", "fields": ["woonsituatie", "sinds"]},
    {"id": "denkwereld_gedrag", "sensitivity": "bijzonder", "fields": ["risicotaxatie"]},
    {
        "id": "justitiele_gegevens",
        "sensitivity": "strafrechtelijk",
        "fields": ["lopende_zaken", "proeftijd_tot"],
    },
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _party(party_id: str, roles: list[str], key: ECKey | None, **extra: Any) -> dict[str, Any]:
    block: dict[str, Any] = {"id": party_id, "name": f"Partij {party_id}", "roles": roles}
    if key is not None:
        block["jwks"] = {"keys": [key.as_dict(private=False)]}
    block.update(extra)
    return block


def _covenant(cid: str, controller: str, parties: list[dict[str, Any]], rules: list[Any]) -> Any:
    return {
        "id": cid,
        "title": f"Convenant {cid}",
        "valid_from": "2024-01-01",
        "valid_until": "2099-12-31",
        "controller": controller,
        "parties": parties,
        "case_opening_roles": ["procesregie"],
        "categories": CATEGORIES,
        "purposes": [{"id": PURPOSE, "description": "PGA", "legal_basis": "AVG art. 6"}],
        "rules": rules,
        "retention": {
            "case_after_close": "P2Y",
            "after_last_contact": "P5Y",
            "copies": "P30D",
            "consent_max": "P1Y",
        },
        "rights": {"inzage": "P1M", "correctie": "P14D", "verzet": "P28D"},
    }


def covenant_a(keys: dict[str, ECKey], b_url: str, c_url: str) -> Any:
    def peer(region: str, url: str) -> dict[str, Any]:
        return _party(
            f"zvh-{region}",
            ["zvh_gateway"],
            None,
            jwks_uri=f"{url}/oauth/jwks",
            source={
                "type": "gateway",
                "base_url": url,
                "jwks_uri": f"{url}/oauth/jwks",
                "client_id": "zvh-a",
                "convenant": f"zvh-{region}",
                "timeout_s": 3.0,
                "categories": ["huisvesting", "denkwereld_gedrag", "justitiele_gegevens"],
            },
        )

    parties = [
        _party("gemeente-a", ["gemeente", "procesregie"], keys["gemeente-a"]),
        _party("ggz-a", ["ggz"], keys["ggz-a"]),
        _party("fg-a", ["privacy_officer"], keys["fg-a"]),
        peer("b", b_url),
        peer("c", c_url),
    ]
    rules = [
        {
            "purpose": PURPOSE,
            "phases": ["casusoverleg", "plan_van_aanpak"],
            "recipients": ["procesregie"],
            "sources": ["zvh_gateway"],
            "categories": ["huisvesting", "denkwereld_gedrag", "justitiele_gegevens"],
        },
        {
            "purpose": PURPOSE,
            "phases": ALL_PHASES,
            "recipients": ["procesregie"],
            "sources": ["zvh_gateway"],
            "categories": ["betrokkenheid"],
        },
    ]
    return _covenant("zvh-a", "gemeente-a", parties, rules)


def covenant_b(
    keys: dict[str, ECKey], a_url: str, sources: dict[str, str], c_url: str | None = None
) -> Any:
    """``zvh-x``: a second peer gateway whose key the tests hold (it calls B directly).

    ``zvh-d``: a peer gateway B itself reaches as a ``gateway`` source (down,
    like region C): a peer's rights request must never be passed on to it.
    """
    peers = [_party("zvh-x", ["zvh_gateway"], keys["zvh-x"])] if "zvh-x" in keys else []
    if c_url is not None:
        peers.append(
            _party(
                "zvh-d",
                ["zvh_gateway"],
                None,
                jwks_uri=f"{c_url}/oauth/jwks",
                source={
                    "type": "gateway",
                    "base_url": c_url,
                    "client_id": "zvh-b",
                    "convenant": "zvh-d",
                    "timeout_s": 1.0,
                    "categories": ["huisvesting"],
                },
            )
        )
    parties = [
        _party("gemeente-b", ["gemeente", "procesregie"], keys["gemeente-b"]),
        _party(
            "politie-demo",
            ["politie"],
            keys["politie-demo"],
            source={"type": "rest", "base_url": sources["politie-demo"]},
        ),
        _party(
            "woningcorporatie-demo",
            ["woningcorporatie"],
            keys["woningcorporatie-demo"],
            source={"type": "rest", "base_url": sources["woningcorporatie-demo"]},
        ),
        _party("om-b", ["om"], keys["om-b"]),
        _party("fg-b", ["privacy_officer"], keys["fg-b"]),
        _party("zvh-a", ["zvh_gateway"], None, jwks_uri=f"{a_url}/oauth/jwks"),
        *peers,
    ]
    rules = [
        {  # B lets A's gateway have housing and criminal data only in casusoverleg
            "purpose": PURPOSE,
            "phases": ["casusoverleg"],
            "recipients": ["zvh_gateway", "procesregie"],
            "sources": ["politie", "woningcorporatie"],
            "categories": ["huisvesting", "justitiele_gegevens"],
        },
        {
            "purpose": PURPOSE,
            "phases": ALL_PHASES,
            "recipients": ["zvh_gateway"],
            "sources": ["procesregie"],
            "categories": ["betrokkenheid"],
        },
    ]
    return _covenant("zvh-b", "gemeente-b", parties, rules)


def write_policy_dir(directory: Path, covenant: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "catalogue.yaml").write_text(
        (REPO / "policies" / "catalogue.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (directory / f"{covenant['id']}.yaml").write_text(
        yaml.safe_dump(covenant, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    return directory


@dataclass
class GatewayProcess:
    """One `python -m gateway.cli.main serve` child process."""

    name: str
    base_url: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    clients: list[PartnerClient] = field(default_factory=list)

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli.main", "serve", "--port", str(self.port)],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.base_url + "/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready: {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        self.clients.clear()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def cli(self, *args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
        """``ketenpoort <args>`` against this gateway's database, keys and covenants."""
        return subprocess.run(
            [sys.executable, "-m", "gateway.cli.main", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    def client(self, party: str, key: ECKey, employee: str = "t.tester") -> PartnerClient:
        client = PartnerClient(self.base_url, party, key, employee=employee)
        client.login(str(self.env["X_COVENANT"]), PURPOSE)
        self.clients.append(client)
        return client


def gateway_env(
    name: str, database_url: str, root: Path, port: int, covenant: str, **extra: str
) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETENPOORT_")}
    env.update(
        {
            "KETENPOORT_DATABASE_URL": database_url,
            "KETENPOORT_POLICY_DIR": str(root / "policies"),
            "KETENPOORT_KEY_DIR": str(root / "keys"),
            "KETENPOORT_BASE_URL": f"http://127.0.0.1:{port}",
            "KETENPOORT_DEV_MODE": "true",
            "KETENPOORT_SOURCE_TIMEOUT_S": "3",
            "X_COVENANT": covenant,
            "PYTHONPATH": str(REPO),
        }
    )
    env.update(extra)
    return env


def grant_criminal(om: PartnerClient, consent_id: str, **extra: str) -> None:
    """The OvJ grants ``justitiele_gegevens`` for 30 days (``extra``: more of the decision)."""
    decided = om.call(
        "POST",
        f"/v1/consents/{consent_id}/decision",
        {
            "decision": "granted",
            "valid_until": (datetime.now(UTC).date() + timedelta(days=30)).isoformat(),
            "reason": "nodig voor plan",
            "categories": ["justitiele_gegevens"],
            **extra,
        },
    )
    assert decided.status_code == 200, decided.text


def audit_entries(officer: PartnerClient, **filters: str) -> list[dict[str, Any]]:
    """Every entry matching ``filters`` through the officer's API, oldest first."""
    entries: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = dict(filters, limit="500")
        if cursor:
            params["cursor"] = cursor
        response = officer.http.get("/v1/audit/entries", params=params, headers=officer.headers())
        assert response.status_code == 200, response.text
        page = response.json()
        entries += page["entries"]
        cursor = page["next"]
        if cursor is None:
            break
    return sorted(entries, key=lambda entry: int(entry["seq"]))


def dump(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True)
