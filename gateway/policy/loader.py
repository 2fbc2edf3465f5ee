"""Load a policy directory: every ``*.yaml`` is a covenant, ``catalogue.yaml`` the catalogue.

The gateway refuses to start on any error (POLICY.md), so loading collects
every problem of every file before giving up, each with file and line. An
error nobody foresaw while checking one file is a finding about that file too
(its type, no traceback): escaping as an exception, it once killed the policy
reloader for good and gave the operator no file to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gateway.policy.catalogue import CATALOGUE_FILE, load_catalogue
from gateway.policy.checks import check_covenant
from gateway.policy.document import SourceDocument, read_document
from gateway.policy.errors import Finding, PolicyError, has_errors
from gateway.policy.models import Catalogue, Covenant, PolicySet
from gateway.policy.schema import schema_path, validate
from gateway.policy.signatures import covenant_version, verify_signatures
from gateway.policy.webhook_url import check_webhooks

_LOADER_FIELDS = {"covenant_version", "source_path", "signatures_ok"}
_DOCUMENT_FIELDS = set(Covenant.model_fields) - _LOADER_FIELDS


def load_policy_dir(path: Path, require_keys: bool = True, *, dev_mode: bool = False) -> PolicySet:
    """Load and check everything, or raise :class:`PolicyError` listing every problem.

    ``require_keys=False`` tolerates missing ``jwks_file`` trust files (the demo
    writes them at start-up); a file that exists but is not a JWKS is still an error.
    ``dev_mode`` lets a consent webhook use plain http to a loopback address.
    """
    policy_set, problems = scan_policy_dir(path, require_keys, dev_mode=dev_mode)
    if policy_set is None:
        raise PolicyError(problems)
    return policy_set


def check_dir(path: Path, require_keys: bool = True) -> list[Finding]:
    """Every problem (errors and warnings) for ``ketenpoort policy check [DIR]``."""
    return scan_policy_dir(path, require_keys)[1]


def scan_policy_dir(
    path: Path,
    require_keys: bool = True,
    *,
    dev_mode: bool = False,
) -> tuple[PolicySet | None, list[Finding]]:
    """The policy set (``None`` if any error) and all problems found."""
    if not path.is_dir():
        return None, [Finding(path, None, "the policy directory does not exist")]
    schema_file = schema_path(path)
    if not schema_file.exists():
        return None, [Finding(schema_file, None, "the covenant JSON Schema is missing")]
    try:
        catalogue, problems = load_catalogue(path / CATALOGUE_FILE, schema_file)
    except Exception as error:  # noqa: BLE001 - as for a covenant file, below
        catalogue, problems = None, [_unforeseen(path / CATALOGUE_FILE, error)]
    problems += [
        Finding(other, None, "ignored: covenant files end in .yaml", "warning")
        for other in sorted(path.glob("*.yml"))
    ]
    covenants: list[Covenant] = []
    first_file: dict[str, Path] = {}
    files = sorted(f for f in path.glob("*.yaml") if f.name != CATALOGUE_FILE)
    if not files:
        problems.append(Finding(path, None, "no covenant (*.yaml) in the policy directory"))
    for file in files:
        try:
            covenant, file_problems = _load_covenant(
                file, schema_file, catalogue, require_keys, dev_mode
            )
        except Exception as error:  # noqa: BLE001 - any failure is this file's error, not ours
            covenant, file_problems = None, [_unforeseen(file, error)]
        problems += file_problems
        if covenant is None:
            continue
        if covenant.id in first_file:
            problems.append(
                Finding(
                    file,
                    1,
                    f"covenant id {covenant.id!r} is also used by {first_file[covenant.id]}",
                )
            )
            continue
        first_file[covenant.id] = file
        covenants.append(covenant)
    if catalogue is None or has_errors(problems):
        return None, problems
    warnings = tuple(p for p in problems if p.severity == "warning")
    return PolicySet(catalogue=catalogue, covenants=tuple(covenants), warnings=warnings), problems


def _load_covenant(
    file: Path,
    schema_file: Path,
    catalogue: Catalogue | None,
    require_keys: bool,
    dev_mode: bool,
) -> tuple[Covenant | None, list[Finding]]:
    document, problems = read_document(file)
    if document is None:
        return None, problems
    problems = validate(document, schema_file, catalogue=False)
    if problems:
        return None, problems
    try:
        version = covenant_version(document.data)
        covenant = Covenant.model_validate(_model_input(document, version))
    except ValidationError as error:
        return None, [
            document.problem(detail["loc"], f"{'.'.join(map(str, detail['loc']))}: {detail['msg']}")
            for detail in error.errors(include_url=False)
        ]
    except ValueError as error:
        return None, [Finding(file, 1, f"cannot read the covenant: {error}")]
    problems = check_covenant(document, covenant, catalogue, require_keys)
    problems += check_webhooks(document, covenant, dev_mode=dev_mode)
    if has_errors(problems) or not covenant.require_signatures:
        return covenant, problems
    status = verify_signatures(document.data, covenant.parties, covenant.signatures)
    for index, check in enumerate(status.checks):
        if not check.valid:
            problems.append(
                document.problem(
                    ("signatures", index),
                    f"{check.kind} by {check.party!r} not valid: {check.reason}",
                    warning=True,
                )
            )
    if status.missing:
        problems.append(
            document.problem(
                ("signatures",),
                "inactive until signed by: " + ", ".join(status.missing),
                warning=True,
            )
        )
    if status.blocked_by:
        problems.append(
            document.problem(
                ("signatures",),
                "inactive: rejected or revoked by " + ", ".join(status.blocked_by),
                warning=True,
            )
        )
    return covenant.model_copy(update={"signatures_ok": status.active}), problems


def _unforeseen(file: Path, error: Exception) -> Finding:
    """A finding for an error no check foresaw; the type names it (nesting, a range, ...)."""
    detail = str(error)[:200]
    return Finding(file, None, f"cannot check this file ({type(error).__name__}: {detail})")


def _model_input(document: SourceDocument, version: str) -> dict[str, Any]:
    """The document's known keys, with trust-file paths made absolute."""
    data: dict[str, Any] = {k: v for k, v in document.data.items() if k in _DOCUMENT_FIELDS}
    base = document.path.parent
    data["parties"] = [
        {**party, "jwks_file": str((base / party["jwks_file"]).resolve())}
        if "jwks_file" in party
        else party
        for party in data["parties"]
    ]
    data["covenant_version"] = version
    data["source_path"] = document.path
    return data
