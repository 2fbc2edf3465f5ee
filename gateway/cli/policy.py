"""``ketenpoort policy check|explain|sign``: covenant files for policy authors.

``check`` lists every problem of every file (like a compiler, not just the
first); ``explain`` shows, from the compiled policy the gateway itself
enforces, what a party may receive per phase (the EXPLAIN of a covenant);
``sign`` adds a party's JWS to a covenant without touching anything that is
signed, so other parties' signatures stay valid.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from gateway.cli.console import console, fail, load_settings
from gateway.policy.compiled import compile_policy
from gateway.policy.document import read_document
from gateway.policy.errors import Finding, has_errors
from gateway.policy.explain import explain
from gateway.policy.loader import scan_policy_dir
from gateway.policy.signatures import covenant_version, sign_covenant

policy_app = typer.Typer(help="Covenant files: check, explain, sign.", no_args_is_help=True)

DirArgument = Annotated[
    Path | None,
    typer.Argument(help="Policy directory (default: KETENPOORT_POLICY_DIR)."),
]


class SignKind(StrEnum):
    sign = "sign"
    reject = "reject"
    revoke = "revoke"


def _policy_dir(directory: Path | None) -> Path:
    if directory is not None:
        return directory
    return load_settings().policy_dir


def where(problem: Finding) -> str:
    """``file:line`` (or just the file), as editors and CI annotations expect."""
    return f"{problem.file}:{problem.line}" if problem.line is not None else str(problem.file)


def _problem_table(problems: list[Finding]) -> Table:
    table = Table(title="Problems in the policy files", show_lines=False)
    table.add_column("severity")
    table.add_column("where", overflow="fold")
    table.add_column("message", overflow="fold")
    for problem in problems:
        colour = "red" if problem.severity == "error" else "yellow"
        table.add_row(f"[{colour}]{problem.severity}[/]", where(problem), problem.message)
    return table


@policy_app.command("check")
def check(
    directory: DirArgument = None,
    require_keys: Annotated[
        bool,
        typer.Option(
            "--require-keys/--no-require-keys",
            help="Treat missing jwks_file trust files as errors (as `serve` does).",
        ),
    ] = True,
) -> None:
    """Report every problem of every covenant file with file:line; exit 1 on errors."""
    path = _policy_dir(directory)
    policy_set, problems = scan_policy_dir(path, require_keys)
    if problems:
        console.print(_problem_table(problems))
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    if policy_set is None or has_errors(problems):
        console.print(f"[bold red]{errors} error(s)[/], {warnings} warning(s) in {path}")
        raise typer.Exit(1)
    console.print(
        f"[green]OK[/]: {len(policy_set.covenants)} covenant(s) in {path}, {warnings} warning(s)"
    )


@policy_app.command("explain")
def explain_command(
    party: Annotated[str, typer.Option("--party", help="The receiving party id.")],
    purpose: Annotated[str, typer.Option("--purpose", help="The purpose id (from the token).")],
    convenant: Annotated[
        str | None,
        typer.Option("--convenant", help="Covenant id (default: the only one loaded)."),
    ] = None,
    directory: DirArgument = None,
) -> None:
    """Per phase: from which source which category with which fields, and OvJ consent."""
    path = _policy_dir(directory)
    policy_set, problems = scan_policy_dir(path, require_keys=False)
    if policy_set is None:
        console.print(_problem_table(problems))
        fail(f"the policy in {path} has errors; run `ketenpoort policy check`", code=1)
    covenant_ids = [cov.id for cov in policy_set.covenants]
    if convenant is None:
        if len(covenant_ids) != 1:
            fail(
                "several covenants loaded; choose one with --convenant: " + ", ".join(covenant_ids)
            )
        convenant = covenant_ids[0]
    result = explain(
        compile_policy(policy_set), convenant, party, purpose, datetime.now(UTC).date()
    )
    if not result.known:
        fail(f"no covenant {convenant!r} in {path}; known: {', '.join(covenant_ids)}", code=1)
    state = "[green]active[/]" if result.active_today else "[red]inactive[/]"
    console.print(f"Covenant [bold]{convenant}[/] ({state}): {party} for purpose {purpose}")
    for phase, permissions in result.phases.items():
        table = Table(title=f"phase {phase}", title_justify="left")
        columns = (
            "source",
            "category",
            "sensitivity",
            "fields",
            "OvJ consent",
            "ground",
            "subjects",
        )
        for column in columns:
            table.add_column(column, overflow="fold")
        for permission in permissions:
            consent = (
                f"[yellow]required[/] ({' or '.join(permission.consent_from)})"
                if permission.consent_required
                else "no"
            )
            table.add_row(
                permission.source,
                permission.category,
                permission.sensitivity or "?",
                ", ".join(permission.fields),
                consent,
                " or ".join(permission.grounds_required) or "—",
                ", ".join(permission.subject_roles),
            )
        if not permissions:
            table.add_row("—", "nothing", "", "", "", "", "")
        console.print(table)
    if result.motivation_codes:
        console.print("motivation codes: " + ", ".join(result.motivation_codes))
    for note in result.notes:
        console.print(f"[dim]• {note}[/]")


@policy_app.command("sign")
def sign(
    file: Annotated[Path, typer.Argument(help="The covenant file to sign.")],
    party: Annotated[str, typer.Option("--party", help="The signing party id.")],
    key: Annotated[
        Path, typer.Option("--key", help="The party's private JWK (JSON; Ed25519 or P-256).")
    ],
    kind: Annotated[SignKind, typer.Option("--kind", help="sign, reject or revoke.")] = (
        SignKind.sign
    ),
) -> None:
    """Sign FILE as PARTY and write the signature into its `signatures` list."""
    private_jwk = _read_private_jwk(key)
    before = _signed_version(file)
    try:
        entry = sign_covenant(file, party, private_jwk, kind.value)
    except (ValueError, TypeError) as error:
        fail(f"cannot sign {file}: {error}", code=1)
    original = file.read_text(encoding="utf-8")
    try:
        updated = add_signature_entry(original, entry)
    except ValueError as error:
        fail(f"cannot add the signature to {file}: {error}", code=1)
    file.write_text(updated, encoding="utf-8")
    if _signed_version(file) != before or not _has_entry(file, entry):
        file.write_text(original, encoding="utf-8")
        fail(f"could not add the signature to {file} without changing it; file left as it was")
    console.print(f"{kind.value} by {party} added to {file} (covenant version {before[:16]}…)")


def _read_private_jwk(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        fail(f"cannot read the key file {path}: {type(error).__name__}", code=1)
    if isinstance(data, dict) and isinstance(data.get("keys"), list) and len(data["keys"]) == 1:
        data = data["keys"][0]
    if not isinstance(data, dict) or "d" not in data:
        fail(f"{path} is not a private JWK (needs one key with its private part 'd')", code=1)
    return data


def _signed_version(file: Path) -> str:
    document, problems = read_document(file)
    if document is None or not isinstance(document.data, dict):
        fail("; ".join(str(p) for p in problems) or f"{file} is not a covenant", code=1)
    return covenant_version(document.data)


def _has_entry(file: Path, entry: dict[str, str]) -> bool:
    document, _ = read_document(file)
    if document is None or not isinstance(document.data, dict):
        return False
    signatures = document.data.get("signatures")
    return isinstance(signatures, list) and entry in signatures


_SIGNATURES_KEY = re.compile(r"^signatures:\s*(?P<rest>.*?)\s*(?:#.*)?$")


def add_signature_entry(text: str, entry: dict[str, str]) -> str:
    """The file text with ``entry`` appended to the top-level ``signatures`` list.

    A text edit rather than a YAML round trip, so comments and layout (which
    people review) survive. JSON is valid YAML flow syntax, hence the quoting.
    """
    item = "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in entry.items()) + "}"
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = _SIGNATURES_KEY.match(line)
        if match is None:
            continue
        rest = match.group("rest")
        if rest == "[]":
            lines[index] = "signatures:"
            lines.insert(index + 1, f"  - {item}")
            return "\n".join(lines) + "\n"
        if rest == "":
            end, indent = index + 1, "  "
            for follow in range(index + 1, len(lines)):
                candidate = lines[follow]
                if candidate.strip() == "" or candidate.lstrip().startswith("#"):
                    continue
                if not candidate.startswith((" ", "-")):
                    break
                if candidate.lstrip().startswith("- ") and end == index + 1:
                    indent = candidate[: len(candidate) - len(candidate.lstrip())]
                end = follow + 1
            lines.insert(end, f"{indent}- {item}")
            return "\n".join(lines) + "\n"
        break
    else:
        return text.rstrip("\n") + f"\nsignatures:\n  - {item}\n"
    raise ValueError("the signatures list is written inline; write it as a block list first")
