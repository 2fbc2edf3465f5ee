"""Inzage: who received what about me, when, why and from whom — read from the log.

Only ``disclosure`` entries about the person count. They are found through the
pseudonym index and each one's sealed subject is opened with the person's
data key and compared, so the view is exactly what the log says about this
person (and nothing once they are erased: the index and key are gone).

A disclosure the OvJ withheld until a future date is not shown: it is
counted, its legal ground is named and the date until which it is withheld is
given (AVG art. 23, UAVG art. 41 lid 1 sub d), as the law requires for every
limitation. Withholdings are read from their own table
(gateway/consent/withholdings.py), never from the consent row, which expires
and is deleted long before the criminal log entries are.

Nothing drops out silently. Every disclosure entry about the person is read,
in keyset pages of ``PAGE_SIZE`` (seq descending), so memory stays bounded
however long the log. The answer accounts for all of them in ``summary`` —
one line per recipient, source, category, purpose and case with a count and
the first and last time — which stays small (parties x categories x cases)
while complete. Only the itemised list ``disclosures`` is bounded, at
``MAX_ENTRIES`` newest first; when it is cut the answer says so
(``complete: false``) and gives the cursor for the older ones (``before``).
Before, the 5,000 newest entries were all that was read: a partner repeating
a permitted query 5,000 times erased an earlier disclosure to the police
from the person's view without a trace.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.audit.models import AuditEntry, AuditSubjectIndex
from gateway.audit.store import entry_aad
from gateway.audit.subject_keys import SubjectVault
from gateway.audit.vault import DataKey, VaultError, open_sealed
from gateway.consent.withholdings import (
    GROUND_INVESTIGATION,
    SOURCE,
    DisclosureHold,
    active_withholdings,
)
from gateway.policy.compiled import CompiledPolicy
from gateway.rights.withholding import GROUND_TEXTS as PARTNER_GROUND_TEXTS
from gateway.rights.withholding import partner_holds

# At most this many disclosures are itemised in one answer; ``summary`` counts them all.
MAX_ENTRIES = 5000
GROUND_CRIMINAL_INVESTIGATION = (
    "UAVG art. 41 lid 1 sub d: voorkoming, onderzoek, opsporing en vervolging van "
    "strafbare feiten (uitstel op verzoek van de Officier van Justitie)"
)
# How many log entries one page of the keyset scan reads (seq descending).
PAGE_SIZE = 1000
# The legal text the person reads for each withholding ground code.
GROUND_TEXTS = {GROUND_INVESTIGATION: GROUND_CRIMINAL_INVESTIGATION}


@dataclass(frozen=True)
class Disclosure:
    time: str
    recipient: str
    recipient_name: str
    source: str | None
    source_name: str | None
    category: str | None
    purpose: str | None
    purpose_description: str | None
    case: str | None
    records: int | None

    def as_json(self) -> dict[str, Any]:
        """Every field, in declaration order (the JSON keys are the field names)."""
        return asdict(self)


@dataclass
class DisclosureGroup:
    """All shown disclosures of one recipient, source, category, purpose and case."""

    recipient: str
    recipient_name: str
    source: str | None
    source_name: str | None
    category: str | None
    purpose: str | None
    purpose_description: str | None
    case: str | None
    count: int
    records: int | None
    first: str
    last: str

    def as_json(self) -> dict[str, Any]:
        """Every field, in declaration order (the JSON keys are the field names)."""
        return asdict(self)


@dataclass(frozen=True)
class Inzage:
    """``withheld`` counts per ground; ``withheld_until`` the last date per ground.

    ``disclosures`` is the itemised list (newest first, at most ``MAX_ENTRIES``,
    older than ``before`` when paging); ``summary`` accounts for every shown
    disclosure and ``total`` counts them; ``next_before`` is the cursor for the
    itemised entries that did not fit (None: nothing older left).
    """

    disclosures: list[Disclosure]
    withheld: Counter[str]
    withheld_until: dict[str, date] = field(default_factory=dict)
    summary: list[DisclosureGroup] = field(default_factory=list)
    total: int = 0
    before: int | None = None
    next_before: int | None = None

    @property
    def withheld_count(self) -> int:
        return sum(self.withheld.values())

    @property
    def withheld_latest(self) -> date | None:
        return max(self.withheld_until.values(), default=None)

    @property
    def complete(self) -> bool:
        """True when ``disclosures`` itemises every disclosure shown to the person."""
        return len(self.disclosures) == self.total

    def as_json(self) -> dict[str, Any]:
        withheld: dict[str, Any] = {
            "count": self.withheld_count,
            "grounds": sorted(self.withheld),
            "by_ground": [
                {"ground": g, "count": n, "until": self._until(g)}
                for g, n in sorted(self.withheld.items())
            ],
        }
        latest = self.withheld_latest
        if latest is not None:  # only when something is withheld: the last date of all
            withheld["until"] = latest.isoformat()
        answer: dict[str, Any] = {
            "disclosures": [item.as_json() for item in self.disclosures],
            "withheld": withheld,
            "complete": self.complete,
            "total": self.total,
            "summary": [group.as_json() for group in self.summary],
        }
        if self.next_before is not None:
            answer["next_before"] = self.next_before
        return answer

    def _until(self, ground: str) -> str | None:
        day = self.withheld_until.get(ground)
        return day.isoformat() if day else None


def _about(entry: dict[str, Any], keys: dict[str, DataKey | None], pseudonym: str) -> bool:
    subject = entry.get("subject")
    if not isinstance(subject, dict):
        return False
    key = keys.get(str(subject.get("key")))
    if key is None:
        return False
    try:
        opened = open_sealed(
            key, str(subject.get("sealed")), entry_aad(int(entry["seq"]), "subject")
        )
    except VaultError:
        return False
    return opened.decode("utf-8") == pseudonym


def _withholding_of(
    entry: dict[str, Any], withholdings: list[DisclosureHold]
) -> DisclosureHold | None:
    """The longest-running withholding that covers this disclosure entry, if any."""
    covering = [w for w in withholdings if w.covers(entry)]
    return max(covering, key=lambda w: w.until, default=None)


def _names(policy: CompiledPolicy, entry: dict[str, Any]) -> tuple[str, str | None, str | None]:
    covenant = policy.covenant(str(entry.get("convenant") or ""))
    recipient = str(entry.get("party") or "")
    source = entry.get("source")
    if covenant is None:
        return recipient, source, None
    found = covenant.party(recipient)
    source_party = covenant.party(source) if isinstance(source, str) else None
    purpose = covenant.purpose(str(entry.get("purpose") or ""))
    return (
        found.name if found is not None else recipient,
        source_party.name if source_party is not None else source,
        purpose.description if purpose is not None else None,
    )


def _pages(session: Session, pseudonym: str) -> Iterator[list[tuple[int, str]]]:
    """Every disclosure entry indexed under the pseudonym, newest first, a page at a time.

    Keyset paging on the subject index's primary key (pseudonym, seq): each
    page is one index range scan, however many entries came before it.
    """
    below: int | None = None
    while True:
        query = (
            select(AuditSubjectIndex.seq, AuditEntry.body)
            .join(AuditEntry, AuditEntry.seq == AuditSubjectIndex.seq)
            .where(AuditSubjectIndex.pseudonym == pseudonym, AuditEntry.kind == "disclosure")
        )
        if below is not None:
            query = query.where(AuditSubjectIndex.seq < below)
        rows = [
            (int(seq), str(body))
            for seq, body in session.execute(
                query.order_by(AuditSubjectIndex.seq.desc()).limit(PAGE_SIZE)
            )
        ]
        if rows:
            yield rows
        if len(rows) < PAGE_SIZE:
            return
        below = rows[-1][0]


def _group_key(entry: dict[str, Any]) -> tuple[str | None, ...]:
    return tuple(
        None if entry.get(name) is None else str(entry.get(name))
        for name in ("party", "source", "category", "purpose", "case")
    )


class _Tally:
    """Folds the shown disclosures, newest first, into the bounded list and the summary."""

    def __init__(self, policy: CompiledPolicy, before: int | None) -> None:
        self._policy = policy
        self._before = before
        self.shown: list[Disclosure] = []
        self.groups: dict[tuple[str | None, ...], DisclosureGroup] = {}
        self.total = 0
        self.next_before: int | None = None

    def add(self, seq: int, entry: dict[str, Any]) -> None:
        self.total += 1
        item = self._disclosure(entry)
        self._summarise(entry, item)
        if self._before is not None and seq >= self._before:
            return
        if len(self.shown) < MAX_ENTRIES:
            self.shown.append(item)
        elif self.next_before is None:
            self.next_before = seq + 1  # the first entry that did not fit is below this

    def _disclosure(self, entry: dict[str, Any]) -> Disclosure:
        recipient_name, source_name, purpose_description = _names(self._policy, entry)
        return Disclosure(
            time=str(entry["time"]),
            recipient=str(entry.get("party") or ""),
            recipient_name=recipient_name,
            source=entry.get("source"),
            source_name=source_name,
            category=entry.get("category"),
            purpose=entry.get("purpose"),
            purpose_description=purpose_description,
            case=entry.get("case"),
            records=entry.get("records"),
        )

    def _summarise(self, entry: dict[str, Any], item: Disclosure) -> None:
        key = _group_key(entry)
        group = self.groups.get(key)
        if group is None:
            self.groups[key] = DisclosureGroup(
                recipient=item.recipient,
                recipient_name=item.recipient_name,
                source=item.source,
                source_name=item.source_name,
                category=item.category,
                purpose=item.purpose,
                purpose_description=item.purpose_description,
                case=item.case,
                count=1,
                records=item.records,
                first=item.time,
                last=item.time,
            )
            return
        group.count += 1
        group.first = item.time  # newest first: each later one is older
        if item.records is not None:
            group.records = (group.records or 0) + item.records


def assemble_inzage(
    session: Session,
    vault: SubjectVault,
    policy: CompiledPolicy,
    pseudonym: str,
    today: date,
    *,
    before: int | None = None,
) -> Inzage:
    """Every disclosure entry about the person, read page by page; see the module docstring."""
    withholdings: list[DisclosureHold] = [
        *active_withholdings(session, pseudonym, today),
        *partner_holds(session, pseudonym, today),
    ]
    withheld: Counter[str] = Counter()
    until: dict[str, date] = {}
    keys: dict[str, DataKey | None] = {}
    tally = _Tally(policy, before)
    for page in _pages(session, pseudonym):
        entries = [(seq, json.loads(body)) for seq, body in page]
        wanted = {
            str(entry["subject"]["key"])
            for _, entry in entries
            if isinstance(entry.get("subject"), dict)
        } - keys.keys()
        keys.update(vault.open_keys(session, sorted(wanted)))
        for seq, entry in entries:
            if not _about(entry, keys, pseudonym):
                continue
            holding = _withholding_of(entry, withholdings)
            if holding is not None:
                texts = PARTNER_GROUND_TEXTS if holding.role == SOURCE else GROUND_TEXTS
                ground = texts.get(holding.ground, holding.ground)
                withheld[ground] += 1
                until[ground] = max(until.get(ground, holding.until), holding.until)
                continue
            tally.add(seq, entry)
    return Inzage(
        tally.shown,
        withheld,
        until,
        summary=sorted(tally.groups.values(), key=lambda g: g.last, reverse=True),
        total=tally.total,
        before=before,
        next_before=tally.next_before,
    )
