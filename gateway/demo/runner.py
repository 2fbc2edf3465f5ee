"""Starts the demo partners' sources as real HTTP servers on loopback."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from fastapi import FastAPI

from gateway.demo.serving import BackgroundServer, bind_socket, url_of
from gateway.demo.source_app import DemoSource, create_source_app, source_of
from gateway.demodata.people import DEMO_DELAYS, SourceRecord, demo_records


class DemoSources:
    """Running demo sources: where they listen, their state, and `stop()`."""

    def __init__(self, servers: Mapping[str, BackgroundServer], apps: Mapping[str, FastAPI]):
        self._servers = dict(servers)
        self._apps = dict(apps)
        self.base_urls: Mapping[str, str] = MappingProxyType(
            {party: server.base_url for party, server in self._servers.items()}
        )

    def source(self, party_id: str) -> DemoSource:
        """The live state of one source, e.g. to delete a record or make it fail."""
        return source_of(self._apps[party_id])

    def stop(self) -> None:
        for server in self._servers.values():
            server.request_stop()
        for server in self._servers.values():
            server.stop()

    def __enter__(self) -> DemoSources:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_demo_sources(
    parties: Mapping[str, int],
    jwks_url: str | None,
    audience: str | None = None,
    *,
    issuer: str | None = None,
    delays: Mapping[str, float] | None = None,
    records: Mapping[str, list[SourceRecord]] | None = None,
) -> DemoSources:
    """Runs one source per party on 127.0.0.1:<port> (port 0 picks a free one).

    `audience` is the `aud` every source expects; None means each source
    expects its own base URL, which is what `RestConnector` asks for by default.
    `delays` defaults to the demo's slow woningcorporatie; pass `{}` in tests
    that want every source fast.
    """
    all_records = demo_records() if records is None else records
    chosen_delays = DEMO_DELAYS if delays is None else delays
    servers: dict[str, BackgroundServer] = {}
    apps: dict[str, FastAPI] = {}
    try:
        for party, port in parties.items():
            sock = bind_socket("127.0.0.1", port)
            app = create_source_app(
                party,
                all_records.get(party, []),
                delay_s=chosen_delays.get(party, 0.0),
                jwks_url=jwks_url,
                expected_audience=audience or url_of(sock),
                expected_issuer=issuer,
            )
            server = BackgroundServer(app, sock=sock)
            servers[party] = server
            apps[party] = app
            server.start()
    except BaseException:
        for started in servers.values():
            started.stop()
        raise
    return DemoSources(servers, apps)
