"""Markdown tables for bench/results: machine, date, figure beside its baseline.

Every benchmark writes the same shape so a reader compares like with like:
what was measured, the result, the baseline measured in the same run, the
ratio, the goal and whether it was met.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

RESULTS_DIR = Path(__file__).parent / "results"
RESULTS_ENV = "BENCH_RESULTS_DIR"  # bench.run --quick points this at results/quick


@dataclass
class Figure:
    measure: str
    result: str
    baseline: str = ""
    ratio: str = ""
    goal: str = ""
    met: bool | None = None
    note: str = ""

    def row(self) -> str:
        verdict = "" if self.met is None else ("met" if self.met else "**not met**")
        cells = [self.measure, self.result, self.baseline, self.ratio, self.goal, verdict]
        return "| " + " | ".join([*cells, self.note]) + " |"


@dataclass
class Section:
    title: str
    figures: list[Figure] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def machine_lines() -> list[str]:
    """Date, CPU model (/proc/cpuinfo), cores, memory (free -h), OS, Python, SQLite."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        free = subprocess.run(["free", "-h"], capture_output=True, text=True, check=True).stdout
        memory = next((ln.split()[1] for ln in free.splitlines() if ln.startswith("Mem:")), "")
    except (OSError, subprocess.CalledProcessError):
        pass
    return [
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {cpu}, {os.cpu_count()} logical CPUs, {memory} RAM (free -h)",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
    ]


def render(title: str, command: str, sections: list[Section], notes: list[str]) -> str:
    lines = [f"# {title}", "", *machine_lines(), *notes, "", f"`{command}`", ""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        if section.figures:
            lines += [
                "| measure | result | baseline (same run) | ratio | goal | goal met | notes |",
                "|---|---|---|---|---|---|---|",
                *(figure.row() for figure in section.figures),
                "",
            ]
        if section.text:
            lines += [*section.text, ""]
    return "\n".join(lines)


def write(name: str, text: str) -> Path:
    folder = Path(os.environ.get(RESULTS_ENV, RESULTS_DIR))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text + "\n", encoding="utf-8")
    return path
