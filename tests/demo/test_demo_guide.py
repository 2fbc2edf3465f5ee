"""The real ``ketenpoort demo`` process, and its printed commands run exactly as printed.

The demo runs from the repository root with ``--workdir`` (a temp dir: its own
database, keys and sources on free ports) and ``--port 0``; its "Probeer zelf"
lines starting with ``$ `` are pasted into one ``bash`` in order, like a person
would. The ``ketenpoort`` they name is the one of this interpreter's venv
(gateway/demo/guide.py), which is what ``.venv/bin/ketenpoort`` is after
``make demo``. A narrow terminal (``COLUMNS``) must not cut any value off.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from gateway.cli.demo import print_results
from gateway.demo.guide import (
    COMMAND_PREFIX,
    TRY_CATEGORIES,
    DemoPlace,
    commands,
    ketenpoort_program,
)
from tests.web.conftest import login

REPO = Path(__file__).resolve().parents[2]
READY_LINE = "Stoppen:"
START_TIMEOUT_S = 90.0
MARK = "@@status"


@dataclass
class RunningDemo:
    process: subprocess.Popen[str]
    lines: list[str]
    env: dict[str, str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _demo_env(columns: int) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env["COLUMNS"] = str(columns)
    env.pop("KETENPOORT_DATABASE_URL", None)
    return env


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[RunningDemo]:
    env = _demo_env(columns=60)
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli.main", "demo", "--port", "0", "--workdir", tmp_path],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith(READY_LINE):
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(START_TIMEOUT_S), "\n".join(lines)
        assert process.poll() is None, "\n".join(lines)
        yield RunningDemo(process, lines, env)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        reader.join(5)


def _run_printed(demo: RunningDemo, commands: list[str]) -> list[tuple[int, str]]:
    """One bash, the commands in order as printed; (exit status, output) per command."""
    script = "".join(f"{command}\nprintf '\\n{MARK} %s\\n' $?\n" for command in commands)
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=REPO,
        env=demo.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    parts = re.split(rf"\n{MARK} (\d+)\n", "\n" + done.stdout)
    outputs = parts[0:-1:2]
    statuses = [int(status) for status in parts[1::2]]
    assert len(statuses) == len(commands), done.stdout + done.stderr
    return list(zip(statuses, [o.strip() for o in outputs], strict=True))


def test_printed_commands_run_as_printed(demo: RunningDemo) -> None:
    commands = [line.removeprefix(COMMAND_PREFIX) for line in demo.lines if line.startswith("$ ")]
    assert len(commands) == 5, demo.text
    assert "X-Ketenpoort-Employee" in commands[2]
    program = str(Path(sys.prefix) / "bin" / "ketenpoort")
    assert program in commands[1] or ".venv/bin/ketenpoort" in commands[1]
    results = _run_printed(demo, commands)
    for (status, output), command in zip(results, commands, strict=True):
        assert status == 0, f"{command}\n{output}"
    assert json.loads(results[0][1])["status"] == "ok"
    body = json.loads(results[2][1])
    answered = {(r["category"], r["status"]) for r in body["results"]}
    assert {("psychisch_welzijn", "ok"), ("sociale_relaties", "ok")} <= answered
    assert all(r["category"] in TRY_CATEGORIES for r in body["results"])
    assert any(r["records"] for r in body["results"] if r["status"] == "ok")
    assert "signature" in results[3][1] or "root" in results[3][1], results[3][1]


def test_printed_logins_open_their_pages(demo: RunningDemo) -> None:
    logins = [
        re.match(r"- (.+?): (http://\S+?)(/\w+)  login (\S+)$", line)
        for line in demo.lines
        if "  login " in line
    ]
    found = [match.groups() for match in logins if match is not None]
    assert [page for _, _, page, _ in found] == ["/privacy", "/ovj", "/mijn"], demo.text
    headings = {
        "/privacy": "Toegangslog",
        "/ovj": "Verzoeken om toestemming",
        "/mijn": "Mijn gegevens",
    }
    for _, base_url, page, username in found:
        client = login(base_url, username, next_path=page)
        try:
            answer = client.get(page)
            assert answer.status_code == 200, (username, answer.text)
            assert headings[page] in answer.text
        finally:
            client.close()
    # The OvJ has the consent request the walk-through left open.
    base_url = found[0][1]
    ovj = login(base_url, found[1][3], next_path="/ovj")
    try:
        assert "justitiele gegevens" in ovj.get("/ovj").text  # the category in words (issue 20)
    finally:
        ovj.close()
    landing = httpx.get(base_url + "/", headers={"Accept": "text/html"})
    assert landing.status_code == 200
    for page in ("/privacy", "/ovj", "/mijn", "/docs"):
        assert f'href="{page}"' in landing.text


def test_walk_through_is_not_cut_off_in_a_narrow_terminal(demo: RunningDemo) -> None:
    assert "…" not in demo.text
    for value in ("woningcorporatie-demo", "justitiele_gegevens", "pending_consent"):
        assert value in demo.text
    assert "not_participant" in demo.text or "denied" in demo.text


def test_walk_through_shows_referral_triage_and_the_persons_consent(demo: RunningDemo) -> None:
    """Issue 17's workflow is what the demo walks: referral, triage, a recorded ground."""
    text = " ".join(demo.text.split())  # the terminal wraps lines
    steps = (
        "Politie meldt persoon-a aan",
        "pakt de aanmelding op in de triage",
        "legt de getekende toestemming van de betrokkene vast",
    )
    positions = [text.find(step) for step in steps]
    assert all(p >= 0 for p in positions), (steps, demo.text)
    assert positions == sorted(positions)
    # The GGZ answer is disclosed under that consent, the criminal data waits for the OvJ.
    assert "psychisch_welzijn" in text and "pending_consent" in text
    for hint in ("de triage en de vastgelegde toestemming", "beperk tot bronnen en velden"):
        assert hint in text, demo.text
    assert "trek uw toestemming voor GGZ-gegevens in" in text


@pytest.mark.parametrize("width", [40, 60, 79, 80, 120])
def test_results_never_truncate(width: int) -> None:
    body: dict[str, object] = {
        "results": [
            {
                "source": "woningcorporatie-demo",
                "category": "justitiele_gegevens",
                "status": "pending_consent",
                "reason": "consent_required",
                "records": None,
            },
            {
                "source": "ggz-demo",
                "category": "psychisch_welzijn",
                "status": "ok",
                "reason": "permitted",
                "records": [{}],
            },
        ]
    }
    out = Console(width=width, record=True, color_system=None)
    print_results(out, "Antwoord", body)
    text = out.export_text()
    assert "…" not in text
    for value in (
        "woningcorporatie-demo",
        "justitiele_gegevens",
        "pending_consent",
        "consent_required",
        "psychisch_welzijn",
    ):
        assert value in text, text


def test_demo_token_names_a_missing_key_dir(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "demo-token", "--keys", str(tmp_path)],
        cwd=REPO,
        env=_demo_env(columns=80),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert str(tmp_path) in done.stderr


def test_make_demo_layout_prints_the_venv_program_and_no_extra_options() -> None:
    """After ``make demo`` (cwd = repo, venv inside it) the commands are short and relative."""
    venv_parent = Path(sys.prefix).resolve().parent
    program = ketenpoort_program(venv_parent)
    assert program == os.path.join(Path(sys.prefix).resolve().name, "bin", "ketenpoort")
    place = DemoPlace(
        base_url="http://127.0.0.1:8080",
        port=8080,
        database_url="sqlite:///var/demo.db",
        key_dir=Path("keys"),
        policy_dir=Path("policies"),
    )
    printed = commands(place, "c-1", "gemeente-demo", "pga-casusoverleg", "m.jansen", program)
    token = printed[1][1]
    assert token == (
        f"TOKEN=$({program} demo-token --party gemeente-demo --purpose pga-casusoverleg)"
    )
    assert printed[-1][1] == (
        f"KETENPOORT_DATABASE_URL=sqlite:///var/demo.db KETENPOORT_DEV_MODE=true "
        f"{program} audit verify"
    )
