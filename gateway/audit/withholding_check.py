"""Check every inzage withholding row against the entry that logged it.

Inzage leaves out a disclosure covered by a row of ``withholdings`` (the OvJ's
``withheld_until``, or a peer's, recorded here) or of ``rights_withholdings``
(a source party's own limitation, UAVG art. 41). Neither table is hashed into
the tree: one row inserted by someone with write access to the database hid a
person's disclosures as held back "op verzoek van de OvJ", and verify still
said ok. So ``audit verify`` requires every row to be backed by a verified
entry written in the same transaction as the row:

- ``withholdings``, granted by our OvJ: the ``consent``/``granted`` entry of
  ``consent_id``, naming the row's case, its category among ``categories``,
  its recipient among ``recipients`` (or ``recipient``), ``withheld_until``,
  and the deciding party (``created_by_party``);
- ``withholdings``, a peer OvJ's, recorded while answering a query: the
  ``disclosure`` entry of that result, with the recorded day in
  ``details.withholding_kept``, naming the case, category, recipient
  (``party``), ``source`` (``created_by_party``) and ``consent_id``;
- ``rights_withholdings``: the ``rights``/``withheld`` entry naming the
  covenant, case, category, ``source``, ground (``reason``) and
  ``details.until``.

In each, the row's person must be the one the entry's data key is linked to;
the ground of a ``withholdings`` row is always ``lopend_onderzoek``. A row may
end *earlier* than its entry says (the migration that first copied grants
capped them at four years): it then hides nothing the logged order did not.
It may not end later. Once the entry's key is shredded (its case gone, the
person erased) the entry no longer names anyone, and the row matches on the
other fields alone (see docs/audit.md for what that leaves open).

Costs two queries per table (the rows; the entries of their cases, of the
right kind, below the head) and one for the data keys, all in the caller's
snapshot; the tables are small next to the log. The report names the table
and the row's id, never a pseudonym.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from pydantic_core import from_json
from sqlalchemy import Date, and_, column, or_, select, table
from sqlalchemy.orm import Session

from gateway.audit.models import AuditDataKey, AuditEntry

WITHHOLDINGS = "withholdings"
PARTNER_WITHHOLDINGS = "rights_withholdings"
KEPT = "withholding_kept"
"""``details`` field of a disclosure entry: the last day of a peer's withholding kept with it."""
OVJ_GROUND = "lopend_onderzoek"

# By name, not through the models: the audit layer sits below consent and rights
# (.importlinter), and reads only the columns that inzage selects by.
_OVJ = table(
    WITHHOLDINGS,
    column("id"),
    column("subject_pseudonym"),
    column("case_id"),
    column("category"),
    column("recipient"),
    column("ground"),
    column("until", Date),
    column("consent_id"),
    column("created_by_party"),
)
_PARTNER = table(
    PARTNER_WITHHOLDINGS,
    column("id"),
    column("subject_pseudonym"),
    column("convenant"),
    column("case_id"),
    column("category"),
    column("source"),
    column("ground"),
    column("until", Date),
)

_ANYONE = object()
"""The person of an entry whose data key is shredded: it can no longer be told."""


def unbacked_withholding(session: Session, size: int) -> str | None:
    """The first row of either table that no entry below ``size`` backs, as a problem text."""
    ovj_rows = session.execute(
        select(
            _OVJ.c.id,
            _OVJ.c.subject_pseudonym,
            _OVJ.c.case_id,
            _OVJ.c.category,
            _OVJ.c.recipient,
            _OVJ.c.ground,
            _OVJ.c.until,
            _OVJ.c.consent_id,
            _OVJ.c.created_by_party,
        ).order_by(_OVJ.c.id)
    ).all()
    partner_rows = session.execute(
        select(
            _PARTNER.c.id,
            _PARTNER.c.subject_pseudonym,
            _PARTNER.c.convenant,
            _PARTNER.c.case_id,
            _PARTNER.c.category,
            _PARTNER.c.source,
            _PARTNER.c.ground,
            _PARTNER.c.until,
        ).order_by(_PARTNER.c.id)
    ).all()
    if not ovj_rows and not partner_rows:
        return None
    ovj_entries = _entries(
        session,
        size,
        select(_OVJ.c.case_id),
        or_(
            and_(AuditEntry.kind == "consent", AuditEntry.outcome == "granted"),
            and_(
                AuditEntry.kind == "disclosure",
                AuditEntry.body.contains(f'"{KEPT}":"', autoescape=True),
            ),
        ),
        bool(ovj_rows),
    )
    partner_entries = _entries(
        session,
        size,
        select(_PARTNER.c.case_id),
        and_(AuditEntry.kind == "rights", AuditEntry.outcome == "withheld"),
        bool(partner_rows),
    )
    people = _people(session, [*ovj_entries, *partner_entries])
    backed = _ovj_backing(ovj_entries, people)
    for ovj_row in ovj_rows:
        if not _ovj_row_backed(ovj_row, backed):
            return f"{WITHHOLDINGS} row {ovj_row[0]} is backed by no entry in the log"
    partner_backed = _partner_backing(partner_entries, people)
    for partner_row in partner_rows:
        if not _partner_row_backed(partner_row, partner_backed):
            return f"{PARTNER_WITHHOLDINGS} row {partner_row[0]} is backed by no entry in the log"
    return None


def _entries(
    session: Session, size: int, cases: Any, kind: Any, wanted: bool
) -> list[dict[str, Any]]:
    """The parsed bodies of the entries of ``kind`` in the cases the rows name."""
    if not wanted:
        return []
    bodies = session.scalars(
        select(AuditEntry.body).where(
            AuditEntry.seq < size, AuditEntry.case_id.in_(cases.scalar_subquery()), kind
        )
    )
    found: list[dict[str, Any]] = []
    for body in bodies:
        try:
            parsed = from_json(body)
        except ValueError:
            continue  # not an entry: the leaf check names it
        if isinstance(parsed, dict):
            found.append(parsed)
    return found


def _key_of(entry: dict[str, Any]) -> str | None:
    subject = entry.get("subject")
    key = subject.get("key") if isinstance(subject, dict) else None
    return key if isinstance(key, str) else None


def _people(session: Session, entries: Sequence[dict[str, Any]]) -> dict[str, object]:
    """Data key id -> the pseudonym it is linked to, or :data:`_ANYONE` once shredded."""
    ids = sorted({key for key in map(_key_of, entries) if key is not None})
    people: dict[str, object] = {}
    for start in range(0, len(ids), 1000):
        rows = session.execute(
            select(AuditDataKey.key_id, AuditDataKey.subject_pseudonym, AuditDataKey.wrapped).where(
                AuditDataKey.key_id.in_(ids[start : start + 1000])
            )
        )
        for key_id, pseudonym, wrapped in rows:
            live = pseudonym is not None and wrapped is not None
            people[str(key_id)] = pseudonym if live else _ANYONE
    return people


def _person(entry: dict[str, Any], people: dict[str, object]) -> object | None:
    """``None`` when the entry names no subject or a key the log does not hold (no backing)."""
    key = _key_of(entry)
    return people.get(key) if key is not None else None


def _details(entry: dict[str, Any]) -> dict[str, Any]:
    details = entry.get("details")
    return details if isinstance(details, dict) else {}


def _day(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _names(value: Any) -> list[str]:
    return value.split(",") if isinstance(value, str) and value else []


_Backing = dict[tuple[Any, ...], list[tuple[object, date]]]
"""What a row must equal (besides person and end) -> every (person, last day) logged for it."""


def _ovj_backing(entries: Iterable[dict[str, Any]], people: dict[str, object]) -> _Backing:
    """(case, category, recipient, consent id, party or source) -> (person, last day)."""
    backing: _Backing = {}
    for entry in entries:
        person = _person(entry, people)
        case = entry.get("case")
        if person is None or not isinstance(case, str):
            continue
        details = _details(entry)
        if entry.get("kind") == "consent" and entry.get("outcome") == "granted":
            until = _day(details.get("withheld_until"))
            if until is None:
                continue
            recipients = _names(details.get("recipients")) or _names(details.get("recipient"))
            for category in _names(details.get("categories")):
                for recipient in recipients:
                    granted = (case, category, recipient, entry.get("consent_id"))
                    backing.setdefault((*granted, entry.get("party")), []).append((person, until))
        elif entry.get("kind") == "disclosure" and entry.get("outcome") == "ok":
            kept = _day(details.get(KEPT))
            if kept is not None:
                disclosed = (case, entry.get("category"), entry.get("party"))
                by_peer = (*disclosed, entry.get("consent_id"), entry.get("source"))
                backing.setdefault(by_peer, []).append((person, kept))
    return backing


def _covers(logged: Sequence[tuple[object, date]], pseudonym: Any, until: Any) -> bool:
    return any(
        (person is _ANYONE or person == pseudonym) and until <= last for person, last in logged
    )


def _ovj_row_backed(row: Sequence[Any], backing: _Backing) -> bool:
    _id, pseudonym, case, category, recipient, ground, until, consent, party = row
    if ground != OVJ_GROUND:
        return False
    return _covers(backing.get((case, category, recipient, consent, party), []), pseudonym, until)


def _partner_backing(entries: Iterable[dict[str, Any]], people: dict[str, object]) -> _Backing:
    backing: _Backing = {}
    for entry in entries:
        person = _person(entry, people)
        until = _day(_details(entry).get("until"))
        if person is None or until is None:
            continue
        key = (
            entry.get("convenant"),
            entry.get("case"),
            entry.get("category"),
            entry.get("source"),
            entry.get("reason"),
        )
        backing.setdefault(key, []).append((person, until))
    return backing


def _partner_row_backed(row: Sequence[Any], backing: _Backing) -> bool:
    _id, pseudonym, covenant, case, category, source, ground, until = row
    return _covers(backing.get((covenant, case, category, source, ground), []), pseudonym, until)
