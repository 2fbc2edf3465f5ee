"""A year of synthetic ZVH activity, driven through the real API of a running demo stack.

Every step is an ordinary partner call (open, phase change, query, OvJ
decision, close), so the log, the consents and the cases hold exactly what
real use would leave; nothing is written to the database directly. The log
never backdates: the simulated year happens at the moment it is run, so the
per-month chart shows the run's month (docs/reports.md). Only test BSNs
(9999900xx) are used; people recur across cases as they do in practice.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.demo.stack import DEMO_COVENANT, Stack

PURPOSE = "pga-casusoverleg"
TEST_BSNS = (
    "999990007",
    "999990019",
    "999990020",
    "999990032",
    "999990044",
    "999990056",
    "999990068",
    "999990081",
    "999990093",
)
PARTNERS = (
    "politie-demo",
    "reclassering-demo",
    "ggz-demo",
    "woningcorporatie-demo",
    "dji-demo",
    "verslavingszorg-demo",
    "veiligthuis-demo",
    "jeugdzorg-demo",
)
QUERIES = (
    ["huisvesting", "inkomen_schulden"],
    ["dagbesteding_arbeid_opleiding", "sociale_relaties"],
    ["identiteitsbewijs", "zorgverzekering"],
    ["justitiele_gegevens"],
)
MUNICIPALITIES = ("GM0106", "GM0109", "GM0114", "GM0118", "GM1680", "GM1690")
CASE_TYPES = ("pga", "nazorg", "huiselijk_geweld", "complex", "radicalisering")
CLOSURES = ("doelen_bereikt", "overgedragen", "geen_medewerking", "verhuisd", "anders")


@dataclass
class Simulated:
    cases: int = 0
    taken_up: int = 0
    not_taken_up: int = 0
    closed: int = 0
    queries: int = 0
    consents: int = 0
    errors: list[str] = field(default_factory=list)


def _ok(result: Simulated, response: Any, step: str) -> bool:
    if response.status_code >= 400:
        result.errors.append(f"{step}: {response.status_code}")
        return False
    return True


def supports_attributes(stack: Stack) -> bool:
    """Whether the covenant declares the case workflow (referrer, case type, ...)."""
    covenant = stack.runtime.policy.current.covenant(DEMO_COVENANT)
    return bool(getattr(covenant, "case_types", None))


def simulate_year(
    stack: Stack,
    cases: int = 300,
    seed: int = 2026,
    progress: Callable[[int], None] | None = None,
) -> Simulated:
    """``cases`` referrals with their triage, phases, queries, OvJ decisions and closures."""
    rng = random.Random(seed)  # noqa: S311 (synthetic demo data, not security)
    gemeente = stack.client("gemeente-demo", employee="sim.procesregie")
    gemeente.login(DEMO_COVENANT, PURPOSE)
    om = stack.client("om-demo", employee="sim.ovj")
    om.login(DEMO_COVENANT, PURPOSE)
    clients = {"gemeente-demo": gemeente}
    for party in set(REFERRERS) - {"gemeente-demo"}:
        client = stack.client(party, employee="sim.partner")
        client.login(DEMO_COVENANT, PURPOSE)
        clients[party] = client
    attributes = supports_attributes(stack)
    result = Simulated()
    for number in range(cases):
        _one_case(stack, rng, gemeente, om, clients, attributes, result)
        if progress is not None:
            progress(number + 1)
    return result


REFERRERS = (
    "politie-demo",
    "gemeente-demo",
    "ggz-demo",
    "woningcorporatie-demo",
    "reclassering-demo",
    "veiligthuis-demo",
    "jeugdzorg-demo",
    "verslavingszorg-demo",
)
REFERRER_WEIGHTS = (30, 20, 12, 10, 10, 8, 5, 5)


def _attributes(rng: random.Random) -> dict[str, Any]:
    minor = rng.random() < 0.12
    birth = rng.randint(2009, 2016) if minor else rng.randint(1950, 2007)
    body: dict[str, Any] = {
        "subjects": [{"bsn": rng.choice(TEST_BSNS), "role": "hoofdpersoon", "birth_year": birth}],
        "case_type": rng.choice(CASE_TYPES),
        "municipality": rng.choice(MUNICIPALITIES),
    }
    if rng.random() < 0.23:
        body["region"] = "zvh-elders"
    return body


def _open(
    rng: random.Random, gemeente: Any, clients: dict[str, Any], attributes: bool
) -> tuple[Any, str]:
    """Open the case: a referral by a partner (workflow covenants), else by procesregie."""
    if not attributes:
        body: dict[str, Any] = {
            "convenant": DEMO_COVENANT,
            "purpose": PURPOSE,
            "subject": {"bsn": rng.choice(TEST_BSNS)},
            "participants": ["reclassering-demo", *rng.sample(PARTNERS, 2)],
            "phase": "triage",
        }
        return gemeente.call("POST", "/v1/cases", body), "open"
    referrer = rng.choices(REFERRERS, REFERRER_WEIGHTS)[0]
    body = {
        "convenant": DEMO_COVENANT,
        "purpose": PURPOSE,
        "phase": "aanmelding",
        **_attributes(rng),
    }
    return clients[referrer].call("POST", "/v1/cases", body), "refer"


def _one_case(
    stack: Stack,
    rng: random.Random,
    gemeente: Any,
    om: Any,
    clients: dict[str, Any],
    attributes: bool,
    result: Simulated,
) -> None:
    response, step = _open(rng, gemeente, clients, attributes)
    if not _ok(result, response, step):
        return
    result.cases += 1
    case_id = response.json()["id"]
    path = f"/v1/cases/{case_id}"
    if attributes and not _ok(
        result, gemeente.call("PATCH", path, {"phase": "triage"}), "triage phase"
    ):
        return
    taken_up = rng.random() >= 0.2
    if attributes:
        outcome = "opgepakt" if taken_up else rng.choice(["niet_opgepakt", "doorverwezen"])
        triage: dict[str, Any] = {"outcome": outcome, "reason": "weging in triage"}
        if outcome == "doorverwezen":
            triage["referred_to"] = "wijkteam"
        _ok(result, gemeente.call("POST", f"{path}/triage", triage), "triage")
    if not taken_up:
        result.not_taken_up += 1
        if not attributes:  # with the workflow, triage itself closes a case not taken up
            _close(gemeente, case_id, rng, attributes, result)
        else:
            result.closed += 1
        return
    result.taken_up += 1
    if attributes:
        for party in ["reclassering-demo", *rng.sample(PARTNERS, 2)]:
            gemeente.call("POST", f"{path}/participants", {"party": party})
    if not _ok(result, gemeente.call("PATCH", path, {"phase": "casusoverleg"}), "phase"):
        return
    asker = clients["reclassering-demo"] if rng.random() < 0.4 else gemeente
    for categories in rng.sample(QUERIES, rng.randint(1, 3)):
        answer = asker.call("POST", f"{path}/queries", _query(categories, attributes))
        result.queries += 1
        if _ok(result, answer, "query"):
            _decide(om, answer.json(), rng, result)
    if rng.random() < 0.6:
        gemeente.call("PATCH", path, {"phase": "plan_van_aanpak"})
    if rng.random() < 0.7:
        _close(gemeente, case_id, rng, attributes, result)


def _takes_motivation() -> bool:
    """Whether this build's query API has the ``motivation`` field (API §3 additions)."""
    from gateway.api.cases import QueryIn

    return "motivation" in QueryIn.model_fields


def _query(categories: list[str], attributes: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"categories": categories}
    if attributes and "justitiele_gegevens" in categories and _takes_motivation():
        body["motivation"] = {"code": "recidive", "text": "risico op herhaling"}
    return body


def _decide(om: Any, answer: dict[str, Any], rng: random.Random, result: Simulated) -> None:
    for item in answer.get("results", []):
        consent = item.get("consent_id")
        if item.get("status") != "pending_consent" or not consent:
            continue
        granted = rng.random() < 0.75
        body: dict[str, Any] = {
            "decision": "granted" if granted else "refused",
            "reason": "afweging OvJ",
        }
        if granted:
            body["categories"] = ["justitiele_gegevens"]
            body["valid_until"] = (datetime.now(UTC).date() + timedelta(days=90)).isoformat()
        response = om.call("POST", f"/v1/consents/{consent}/decision", body)
        if response.status_code < 400:
            result.consents += 1


def _close(
    gemeente: Any, case_id: str, rng: random.Random, attributes: bool, result: Simulated
) -> None:
    body = {"reason": rng.choice(CLOSURES)} if attributes else None
    if _ok(result, gemeente.call("POST", f"/v1/cases/{case_id}/close", body), "close"):
        result.closed += 1
