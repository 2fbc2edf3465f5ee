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
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
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
    ActiveWithholding,
    active_withholdings,
)
from gateway.policy.compiled import CompiledPolicy
from gateway.rights.withholding import GROUND_TEXTS as PARTNER_GROUND_TEXTS
from gateway.rights.withholding import PartnerHold, partner_holds

MAX_ENTRIES = 5000
GROUND_CRIMINAL_INVESTIGATION = (
    "UAVG art. 41 lid 1 sub d: voorkoming, onderzoek, opsporing en vervolging van "
    "strafbare feiten (uitstel op verzoek van de Officier van Justitie)"
)
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
        return {
            "time": self.time,
            "recipient": self.recipient,
            "recipient_name": self.recipient_name,
            "source": self.source,
            "source_name": self.source_name,
            "category": self.category,
            "purpose": self.purpose,
            "purpose_description": self.purpose_description,
            "case": self.case,
            "records": self.records,
        }


@dataclass(frozen=True)
class Inzage:
    """``withheld`` counts per ground; ``withheld_until`` the last date per ground."""

    disclosures: list[Disclosure]
    withheld: Counter[str]
    withheld_until: dict[str, date] = field(default_factory=dict)

    @property
    def withheld_count(self) -> int:
        return sum(self.withheld.values())

    @property
    def withheld_latest(self) -> date | None:
        return max(self.withheld_until.values(), default=None)

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
        return {"disclosures": [item.as_json() for item in self.disclosures], "withheld": withheld}

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
    entry: dict[str, Any], withholdings: list[ActiveWithholding | PartnerHold]
) -> ActiveWithholding | PartnerHold | None:
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


def assemble_inzage(
    session: Session, vault: SubjectVault, policy: CompiledPolicy, pseudonym: str, today: date
) -> Inzage:
    rows = session.execute(
        select(AuditEntry.body)
        .join(AuditSubjectIndex, AuditSubjectIndex.seq == AuditEntry.seq)
        .where(AuditSubjectIndex.pseudonym == pseudonym, AuditEntry.kind == "disclosure")
        .order_by(AuditEntry.seq.desc())
        .limit(MAX_ENTRIES)
    ).scalars()
    entries = [json.loads(body) for body in rows]
    key_ids = [
        str(entry["subject"]["key"]) for entry in entries if isinstance(entry.get("subject"), dict)
    ]
    keys = dict(vault.open_keys(session, key_ids))
    mine = [entry for entry in entries if _about(entry, keys, pseudonym)]
    withholdings: list[ActiveWithholding | PartnerHold] = [
        *active_withholdings(session, pseudonym, today),
        *partner_holds(session, pseudonym, today),
    ]
    withheld: Counter[str] = Counter()
    until: dict[str, date] = {}
    shown: list[Disclosure] = []
    for entry in mine:
        holding = _withholding_of(entry, withholdings)
        if holding is not None:
            texts = PARTNER_GROUND_TEXTS if isinstance(holding, PartnerHold) else GROUND_TEXTS
            ground = texts.get(holding.ground, holding.ground)
            withheld[ground] += 1
            until[ground] = max(until.get(ground, holding.until), holding.until)
            continue
        recipient_name, source_name, purpose_description = _names(policy, entry)
        shown.append(
            Disclosure(
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
        )
    return Inzage(shown, withheld, until)
