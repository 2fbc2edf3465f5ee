"""The FG's result table: one line per log entry, in Dutch, repeated portal views folded.

A person who opens /mijn seven times leaves seven ``inzage_shown`` entries; in
the list they fold into one line with a count (the entries themselves stay in
the log, each still reachable by number). A rights entry shows its request
type, the cases it names and who acted — the portal itself when a person did.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.web.glossary import label
from gateway.web.timefmt import nl_time

PORTAL_VIEW = "inzage_shown"
PERSON = "Betrokkene zelf (Mijn gegevens)"


@dataclass(frozen=True)
class ResultRow:
    seq: int
    last_seq: int
    count: int
    time: str
    kind: str
    party: str
    purpose: str
    case: str
    source: str
    category: str
    outcome: str
    outcome_code: str
    reason: str


def _details(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    details = entry.get("details")
    return details if isinstance(details, dict) else {}


def _text(value: object) -> str:
    return str(value) if value not in (None, "") else "—"


def row_of(entry: Mapping[str, Any], count: int = 1, last_seq: int | None = None) -> ResultRow:
    details = _details(entry)
    kind = label("kind", entry.get("kind"))
    party = _text(entry.get("party"))
    case = _text(entry.get("case"))
    if entry.get("kind") == "rights":
        if details.get("type"):
            kind = f"{kind}: {label('rights_type', str(details['type']))}"
        if details.get("cases") and case == "—":
            case = str(details["cases"]).replace(",", ", ")
        if party == "—" and details.get("channel") == "portal":
            party = PERSON
    category = entry.get("category")
    return ResultRow(
        seq=int(entry["seq"]),
        last_seq=int(entry["seq"]) if last_seq is None else last_seq,
        count=count,
        time=nl_time(entry.get("time")),
        kind=kind,
        party=party,
        purpose=_text(entry.get("purpose")),
        case=case,
        source=_text(entry.get("source")),
        category=str(category).replace("_", " ") if category else "—",
        outcome=label("outcome", entry.get("outcome")),
        outcome_code=str(entry.get("outcome") or ""),
        reason=label("reason", entry.get("reason")),
    )


def _same_view(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return (
        a.get("outcome") == PORTAL_VIEW
        and b.get("outcome") == PORTAL_VIEW
        and a.get("subject") == b.get("subject")
        and _details(a).get("channel") == _details(b).get("channel")
    )


def result_rows(entries: Iterable[Mapping[str, Any]]) -> list[ResultRow]:
    """Entries newest first, consecutive views of one person's inzage folded into one row."""
    rows: list[ResultRow] = []
    run: list[Mapping[str, Any]] = []
    for entry in [*entries, {}]:
        if run and entry and _same_view(run[-1], entry):
            run.append(entry)
            continue
        if run:
            rows.append(row_of(run[0], count=len(run), last_seq=int(run[-1]["seq"])))
        run = [entry] if entry else []
    return rows
