"""SqlConnector against a real partner database: a SQLite file and, if reachable, PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from connectors import (
    ConnectorConfigError,
    LookupRequest,
    Requester,
    SourceConnector,
    SourceUnavailable,
    SqlConnector,
)
from gateway.subjects.bsn import Bsn

KNOWN = Bsn("999990019")
OTHER = Bsn("999990020")
NOBODY = Bsn("999990093")


@dataclass
class PartnerDb:
    url: str
    prefix: str  # "" for SQLite, "<schema>." for PostgreSQL

    def queries(self) -> dict[str, str]:
        p = self.prefix
        return {
            "huisvesting": (
                f"SELECT id, updated, woonsituatie, adres FROM {p}dossier "
                "WHERE bsn = :bsn AND soort = 'wonen' ORDER BY id"
            ),
            "inkomen_schulden": (
                f"SELECT id, updated, schulden_indicatie FROM {p}schulden WHERE bsn = :subject"
            ),
        }


def _fill(url: str, prefix: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                f"CREATE TABLE {prefix}dossier (id VARCHAR(20) PRIMARY KEY, bsn VARCHAR(9), "
                "soort VARCHAR(20), updated TIMESTAMP, woonsituatie VARCHAR(50), adres VARCHAR(80))"
            )
        )
        conn.execute(
            text(
                f"CREATE TABLE {prefix}schulden (id INTEGER PRIMARY KEY, bsn VARCHAR(9), "
                "updated DATE, schulden_indicatie VARCHAR(10))"
            )
        )
        conn.execute(
            text(
                f"CREATE TABLE {prefix}verwijderd (seq INTEGER PRIMARY KEY, record_id VARCHAR(20), "
                "bsn VARCHAR(9), category VARCHAR(40), deleted_at TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                f"INSERT INTO {prefix}dossier VALUES "
                "('d-1', '999990019', 'wonen', '2026-10-01 09:00:00', 'dakloos', 'postadres'),"
                "('d-2', '999990019', 'overig', '2026-10-02 09:00:00', 'n.v.t.', 'n.v.t.'),"
                "('d-3', '999990020', 'wonen', '2026-10-03 09:00:00', 'huurwoning', 'Laan 1')"
            )
        )
        conn.execute(
            text(f"INSERT INTO {prefix}schulden VALUES (7, '999990019', '2026-09-01', 'hoog')")
        )
        conn.execute(
            text(
                f"INSERT INTO {prefix}verwijderd VALUES "
                "(1, 'd-9', '999990019', 'huisvesting', '2026-10-05 12:00:00'),"
                "(2, 'd-8', '999990020', 'huisvesting', '2026-10-06 12:00:00'),"
                "(3, '7', '999990019', 'inkomen_schulden', '2026-10-07 12:00:00')"
            )
        )
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def partner_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PartnerDb]:
    if request.param == "sqlite":
        path = tmp_path / "partner.db"
        _fill(f"sqlite:///{path}", "")
        yield PartnerDb(f"sqlite:///{path}", "")
        return
    server: str = request.getfixturevalue("postgres_database")
    schema = f"partner_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        _fill(server, f"{schema}.")
        yield PartnerDb(server, f"{schema}.")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def ask(subject: Bsn, *categories: str) -> LookupRequest:
    return LookupRequest(
        subject=subject,
        categories=categories,
        convenant="zvh-demo",
        purpose="pga-casusoverleg",
        case="c-1",
        requester=Requester("gemeente-demo", "m.jansen"),
    )


@pytest.fixture
def connector(partner_db: PartnerDb) -> Iterator[SqlConnector]:
    p = partner_db.prefix
    made = SqlConnector(
        partner_db.url,
        partner_db.queries(),
        deletions_query=(
            "SELECT seq AS cursor, record_id, bsn, category, deleted_at "
            f"FROM {p}verwijderd WHERE seq > :since ORDER BY seq"
        ),
        page_size=2,
    )
    yield made
    made.dispose()


async def test_lookup_maps_rows_to_records(connector: SqlConnector) -> None:
    result = await connector.lookup(ask(KNOWN, "huisvesting", "inkomen_schulden"))

    assert result.subject_known is True
    by_id = {r.id: r for r in result.records}
    assert set(by_id) == {"d-1", "7"}
    assert by_id["d-1"].category == "huisvesting"
    assert dict(by_id["d-1"].fields) == {"woonsituatie": "dakloos", "adres": "postadres"}
    assert by_id["d-1"].updated.isoformat() == "2026-10-01T09:00:00+00:00"
    assert by_id["7"].category == "inkomen_schulden"
    assert dict(by_id["7"].fields) == {"schulden_indicatie": "hoog"}


async def test_unconfigured_categories_are_skipped_and_unknown_subjects_unknown(
    connector: SqlConnector,
) -> None:
    only_configured = await connector.lookup(ask(OTHER, "huisvesting", "detentie"))
    nobody = await connector.lookup(ask(NOBODY, "huisvesting", "inkomen_schulden"))

    assert [r.id for r in only_configured.records] == ["d-3"]
    assert nobody.subject_known is False
    assert list(nobody.records) == []


async def test_injection_in_the_subject_is_only_a_value(
    connector: SqlConnector, partner_db: PartnerDb
) -> None:
    smuggled = Bsn.__new__(Bsn)  # bypass validation on purpose: binding must still hold
    object.__setattr__(smuggled, "_digits", "x' OR '1'='1")

    result = await connector.lookup(ask(smuggled, "huisvesting"))

    assert list(result.records) == []
    still_there = await connector.lookup(ask(OTHER, "huisvesting"))
    assert [r.id for r in still_there.records] == ["d-3"]


async def test_deletion_feed_pages_by_cursor(connector: SqlConnector) -> None:
    first = await connector.deletions(None)
    second = await connector.deletions(first.next)
    third = await connector.deletions(second.next)

    assert [e.record_id for e in first.events] == ["d-9", "d-8"]
    assert first.events[0].subject == KNOWN
    assert first.next == "2"
    assert [(e.record_id, e.category) for e in second.events] == [("7", "inkomen_schulden")]
    assert list(third.events) == []
    assert third.next == second.next == "3"


async def test_a_select_that_writes_is_stopped_by_the_read_only_transaction(
    partner_db: PartnerDb,
) -> None:
    if partner_db.url.startswith("sqlite"):
        pytest.skip("SQLite SELECTs cannot write; the file is opened mode=ro instead")
    engine = create_engine(partner_db.url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SEQUENCE {partner_db.prefix}teller"))
    engine.dispose()
    guard = "WHERE CAST(:bsn AS TEXT) IS NOT NULL"
    honest = SqlConnector(
        partner_db.url, {"huisvesting": f"SELECT 1 AS id, now() AS updated {guard}"}
    )
    sneaky = SqlConnector(
        partner_db.url,
        {
            "huisvesting": f"SELECT nextval('{partner_db.prefix}teller') AS id, now() AS updated "
            + guard
        },
    )

    assert len((await honest.lookup(ask(KNOWN, "huisvesting"))).records) == 1
    with pytest.raises(SourceUnavailable) as caught:
        await sneaky.lookup(ask(KNOWN, "huisvesting"))
    honest.dispose()
    sneaky.dispose()

    assert caught.value.reason == "database"
    engine = create_engine(partner_db.url)
    with engine.connect() as conn:
        used = conn.execute(text(f"SELECT is_called FROM {partner_db.prefix}teller")).scalar()
    engine.dispose()
    assert used is False  # sequences ignore rollback: only read-only kept nextval from running


async def test_sqlite_file_is_opened_read_only(tmp_path: Path) -> None:
    missing = tmp_path / "does-not-exist.db"
    connector = SqlConnector(
        f"sqlite:///{missing}", {"huisvesting": "SELECT 1 AS id, 2 AS updated WHERE :bsn"}
    )

    with pytest.raises(SourceUnavailable) as caught:
        await connector.lookup(ask(KNOWN, "huisvesting"))

    assert caught.value.reason == "connect"
    assert not missing.exists()


async def test_database_errors_do_not_leak_the_bsn(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    _fill(f"sqlite:///{path}", "")
    connector = SqlConnector(
        f"sqlite:///{path}",
        {"huisvesting": "SELECT id, updated FROM no_such_table WHERE bsn = :bsn"},
    )

    with pytest.raises(SourceUnavailable) as caught:
        await connector.lookup(ask(KNOWN, "huisvesting"))

    assert caught.value.reason == "database"
    assert caught.value.__cause__ is None
    assert KNOWN.reveal() not in repr(caught.value)


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM dossier WHERE bsn = :bsn",
        "UPDATE dossier SET adres = 'x' WHERE bsn = :bsn",
        "SELECT id, updated FROM dossier WHERE bsn = :bsn; DROP TABLE dossier",
        "SELECT id, updated INTO kopie FROM dossier WHERE bsn = :bsn",
        "WITH d AS (DELETE FROM dossier RETURNING *) SELECT * FROM d WHERE bsn = :bsn",
        "SELECT id, updated FROM dossier WHERE bsn = :bsn -- comment",
        "SELECT id, updated FROM dossier",
        "SELECT id, updated FROM dossier WHERE bsn = :bsn AND x = :other",
        "SELECT id, updated FROM dossier WHERE bsn = :bsn FOR UPDATE",
        "PRAGMA writable_schema = 1",
    ],
)
def test_anything_but_one_plain_select_is_refused(query: str, tmp_path: Path) -> None:
    with pytest.raises(ConnectorConfigError):
        SqlConnector(f"sqlite:///{tmp_path / 'x.db'}", {"huisvesting": query})


def test_string_literals_may_contain_keywords(tmp_path: Path) -> None:
    query = "SELECT id, updated FROM dossier WHERE bsn = :bsn AND soort <> 'delete; drop'"
    SqlConnector(f"sqlite:///{tmp_path / 'x.db'}", {"huisvesting": query}).dispose()


def test_sql_connector_is_a_source_connector(tmp_path: Path) -> None:
    made = SqlConnector(f"sqlite:///{tmp_path / 'x.db'}", {"c": "SELECT 1 WHERE :bsn"})
    assert isinstance(made, SourceConnector)
