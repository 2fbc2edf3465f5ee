"""A whole Ketenpoort on loopback: gateway, demo sources, partner keys.

The demo runs it with the repository's policies and fixed ports; tests and
benchmarks run it with a copy of the policies rewritten to free ports. Either
way every part is real: HTTP between gateway and sources, OAuth with real
keys, the audit log on a real database.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI
from joserfc.jwk import ECKey

from gateway.app import create_app
from gateway.demo.partner_client import PartnerClient
from gateway.demo.partners import ensure_partner_keys
from gateway.demo.runner import DemoSources, start_demo_sources
from gateway.demo.serving import BackgroundServer, bind_socket, url_of
from gateway.policy.loader import load_policy_dir
from gateway.policy.models import PolicySet
from gateway.settings import Settings
from gateway.wiring import Runtime

DEMO_COVENANT = "zvh-demo"


@dataclass
class Stack:
    base_url: str
    settings: Settings
    runtime: Runtime
    app: FastAPI
    server: BackgroundServer
    sources: DemoSources
    partner_keys: dict[str, ECKey]
    clients: list[PartnerClient] = field(default_factory=list)

    def client(self, party: str, employee: str = "t.tester") -> PartnerClient:
        client = PartnerClient(self.base_url, party, self.partner_keys[party], employee=employee)
        self.clients.append(client)
        return client

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        self.server.stop()
        self.sources.stop()
        self.runtime.close()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _rest_sources(policy: PolicySet) -> dict[str, int]:
    ports: dict[str, int] = {}
    for covenant in policy.covenants:
        for party in covenant.parties:
            if party.source is not None and party.source.type == "rest":
                ports[party.id] = int(party.source.base_url.rsplit(":", 1)[1].split("/")[0])
    return ports


def copy_policies(source_dir: Path, target_dir: Path, base_urls: Mapping[str, str]) -> None:
    """Copy a policy directory, pointing each REST source at ``base_urls[party]``."""
    target_dir.mkdir(parents=True, exist_ok=True)
    for path in source_dir.iterdir():
        if path.suffix not in (".yaml", ".json"):
            continue
        if path.suffix == ".yaml" and path.name != "catalogue.yaml":
            document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
            for party in document.get("parties", []):
                source = party.get("source")
                if source and source.get("type") == "rest" and party["id"] in base_urls:
                    source["base_url"] = base_urls[party["id"]]
            (target_dir / path.name).write_text(
                yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8"
            )
        else:
            shutil.copy(path, target_dir / path.name)


def start_stack(
    *,
    prepare: Callable[[Settings], Runtime],
    database_url: str,
    key_dir: Path,
    policy_dir: Path,
    workdir: Path | None = None,
    gateway_port: int = 0,
    fixed_source_ports: bool = False,
    delays: Mapping[str, float] | None = None,
    settings_overrides: Mapping[str, Any] | None = None,
) -> Stack:
    """Start sources, then the gateway; with ``workdir`` the policies are copied there.

    ``prepare`` is what ``serve`` does before accepting traffic (the CLI hands
    in its own, so the demo does not import the command line that starts it).
    """
    gateway_socket = bind_socket("127.0.0.1", gateway_port)
    base_url = url_of(gateway_socket)
    template = load_policy_dir(policy_dir, require_keys=False)
    wanted = _rest_sources(template)
    ports = wanted if fixed_source_ports else dict.fromkeys(wanted, 0)
    sources = start_demo_sources(ports, base_url + "/oauth/jwks", delays=delays)
    try:
        if workdir is not None:
            copy_policies(policy_dir, workdir / "policies", sources.base_urls)
            policy_dir = workdir / "policies"
        policy = load_policy_dir(policy_dir, require_keys=False)
        partner_keys: dict[str, ECKey] = {}
        for covenant in policy.covenants:
            partner_keys.update(ensure_partner_keys(covenant, key_dir))
        settings = Settings(
            database_url=database_url,
            policy_dir=policy_dir,
            key_dir=key_dir,
            base_url=base_url,
            dev_mode=True,
            **dict(settings_overrides or {}),
        )
        runtime = prepare(settings)
        app = create_app(settings, runtime)
        server = BackgroundServer(app, sock=gateway_socket)
        server.start()
    except BaseException:
        sources.stop()
        gateway_socket.close()
        raise
    return Stack(base_url, settings, runtime, app, server, sources, partner_keys)
