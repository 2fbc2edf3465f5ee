"""What can be wrong with a policy directory, said with file and line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One covenant-lint finding about one place in one file; warnings never stop the gateway.

    Not an RFC 9457 problem (that is :class:`gateway.problems.Problem`): a finding is
    what ``ketenpoort policy check`` reports about a covenant file.
    """

    file: Path
    line: int | None
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else f"{self.file}"
        return f"{where}: {self.severity}: {self.message}"


@dataclass
class PolicyError(Exception):
    """Raised when the policy directory has at least one error; carries every problem found."""

    problems: list[Finding] = field(default_factory=list)

    def __str__(self) -> str:
        errors = [p for p in self.problems if p.severity == "error"]
        lines = [f"{len(errors)} problem(s) in the policy files:"]
        lines += [f"  {problem}" for problem in self.problems]
        return "\n".join(lines)


def has_errors(problems: list[Finding]) -> bool:
    return any(problem.severity == "error" for problem in problems)
