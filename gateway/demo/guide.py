"""What ``ketenpoort demo`` prints under "Probeer zelf": commands that run as printed.

Every command is built from the running demo (its port, the case the
walk-through opened, its database and key directory), so a person can paste it
and it works; ``tests/demo/test_demo_guide.py`` runs them exactly as printed.
The ``ketenpoort`` program is named by the path of the environment the demo
itself runs in (``.venv/bin/ketenpoort`` after ``make demo``): a plain
``ketenpoort`` is not on the PATH of someone who did not activate the venv.
The logins come from the dev IdP's own user list, so they cannot drift from it.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from gateway.audit.officer import PRIVACY_OFFICER
from gateway.demodata.people import demo_people
from gateway.policy.compiled import CompiledPolicy
from gateway.web.devidp.users import DemoUser, dev_users

DEFAULT_KEY_DIR: Final = Path("keys")
DEFAULT_POLICY_DIR: Final = Path("policies")
DEFAULT_PORT: Final = 8080
COMMAND_PREFIX: Final = "$ "
# Categories whose holders answer fast in the demo (the woningcorporatie is slow on purpose).
TRY_CATEGORIES: Final = ("psychisch_welzijn", "sociale_relaties")


def ketenpoort_program(cwd: Path | None = None) -> str:
    """The ``ketenpoort`` of the running environment, relative to ``cwd`` when inside it."""
    prefix = Path(sys.prefix).resolve()
    script = prefix / "bin" / "ketenpoort"
    here = (cwd or Path.cwd()).resolve()
    if not script.exists():
        return f"{shlex.quote(sys.executable)} -m gateway.cli.main"
    if script.is_relative_to(here):
        return shlex.quote(os.path.relpath(script, here))
    return shlex.quote(str(script))


@dataclass(frozen=True)
class DemoPlace:
    """Where a running demo lives: its URL, database, keys and covenant files."""

    base_url: str
    port: int
    database_url: str
    key_dir: Path
    policy_dir: Path


@dataclass(frozen=True)
class Login:
    """One role's page and the dev IdP user to log in as there."""

    role: str
    page: str
    username: str
    try_this: str


def _env(place: DemoPlace) -> str:
    parts = [f"KETENPOORT_DATABASE_URL={shlex.quote(place.database_url)}"]
    if place.key_dir != DEFAULT_KEY_DIR:
        parts.append(f"KETENPOORT_KEY_DIR={shlex.quote(str(place.key_dir))}")
    if place.policy_dir != DEFAULT_POLICY_DIR:
        parts.append(f"KETENPOORT_POLICY_DIR={shlex.quote(str(place.policy_dir))}")
    parts.append("KETENPOORT_DEV_MODE=true")
    return " ".join(parts)


def token_command(place: DemoPlace, party: str, purpose: str, program: str) -> str:
    command = f"{program} demo-token --party {party} --purpose {purpose}"
    if place.port != DEFAULT_PORT:
        command += f" --port {place.port}"
    if place.key_dir != DEFAULT_KEY_DIR:
        command += f" --keys {shlex.quote(str(place.key_dir))}"
    return f"TOKEN=$({command})"


def query_command(place: DemoPlace, case_id: str, employee: str) -> str:
    body = '{"categories": [' + ", ".join(f'"{c}"' for c in TRY_CATEGORIES) + "]}"
    return (
        f"curl --fail-with-body -s -X POST {place.base_url}/v1/cases/{case_id}/queries"
        ' -H "Authorization: Bearer $TOKEN"'
        f' -H "X-Ketenpoort-Employee: {employee}"'
        ' -H "Content-Type: application/json"'
        f" -d {shlex.quote(body)}"
    )


def commands(
    place: DemoPlace, case_id: str, party: str, purpose: str, employee: str, program: str
) -> list[tuple[str, str]]:
    """(Dutch explanation, shell command) pairs, in the order they must run."""
    return [
        ("Gezondheid van de gateway", f"curl --fail-with-body -s {place.base_url}/health/ready"),
        (
            f"Toegangstoken voor {party} (OAuth private_key_jwt met de demo-sleutel)",
            token_command(place, party, purpose, program),
        ),
        (
            f"Vraag gegevens op in casus {case_id} als medewerker {employee} "
            "(de header X-Ketenpoort-Employee is verplicht)",
            query_command(place, case_id, employee),
        ),
        (
            "Laatste ondertekende checkpoint van het auditlog",
            f"curl --fail-with-body -s {place.base_url}/v1/audit/checkpoint",
        ),
        ("Het hele auditlog controleren", f"{_env(place)} {program} audit verify"),
    ]


def _first(users: dict[str, DemoUser], wanted: str) -> str:
    for username, user in users.items():
        if wanted == "bsn" and user.bsn is not None:
            return username
        if wanted in user.roles:
            return username
    raise LookupError(wanted)


def logins(policy: CompiledPolicy) -> list[Login]:
    """The web logins for the three human roles, from the dev IdP's user list."""
    users = dev_users(policy)
    person = demo_people()[0]
    subject = _first(users, "bsn")
    return [
        Login(
            "Privacy-officer (FG)",
            "/privacy",
            _first(users, PRIVACY_OFFICER),
            f"zoek op BSN {person.bsn.reveal()} ({person.label}): de aanmelding door de "
            "politie, de triage en de vastgelegde toestemming staan in het log; open een "
            "logregel, bekijk de integriteit en exporteer als CSV",
        ),
        Login(
            "Officier van Justitie",
            "/ovj",
            _first(users, "om"),
            "beslis over het openstaande verzoek om justitiële gegevens uit stap 2: weeg de "
            "motivering, beperk tot bronnen en velden, of weiger",
        ),
        Login(
            "Betrokkene",
            "/mijn",
            subject,
            "zie wie welke gegevens over u kreeg; trek uw toestemming voor GGZ-gegevens in, "
            "vraag correctie of maak bezwaar (verzet)",
        ),
    ]
