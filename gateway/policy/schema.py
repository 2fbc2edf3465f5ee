"""Validate documents against ``policies/convenant.schema.json`` and say where each error is.

jsonschema reports *every* error (``iter_errors``); each is mapped to the line
of the offending node. A schema node may carry ``x-error``, a plain-language
message used instead of the validator's regex dump.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from gateway.policy.document import SourceDocument
from gateway.policy.errors import Finding

SCHEMA_NAME = "convenant.schema.json"
_BUNDLED_SCHEMA = Path(__file__).resolve().parents[2] / "policies" / SCHEMA_NAME


def schema_path(policy_dir: Path) -> Path:
    """The schema shipped with the code; a copy in the policy directory only as fallback."""
    if _BUNDLED_SCHEMA.exists():
        return _BUNDLED_SCHEMA
    return policy_dir / SCHEMA_NAME


@lru_cache(maxsize=4)
def _validators(path: Path) -> tuple[Draft202012Validator, Draft202012Validator]:
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    catalogue_schema = {
        "$schema": schema["$schema"],
        "$defs": schema["$defs"],
        "$ref": "#/$defs/catalogue",
    }
    checker = Draft202012Validator.FORMAT_CHECKER
    return (
        Draft202012Validator(schema, format_checker=checker),
        Draft202012Validator(catalogue_schema, format_checker=checker),
    )


def validate(document: SourceDocument, schema_file: Path, catalogue: bool) -> list[Finding]:
    """Every schema error in ``document``, sorted by line."""
    covenant_validator, catalogue_validator = _validators(schema_file)
    validator = catalogue_validator if catalogue else covenant_validator
    problems = [_problem(document, error) for error in validator.iter_errors(document.data)]
    return sorted(problems, key=lambda problem: problem.line or 0)


def _problem(document: SourceDocument, error: ValidationError) -> Finding:
    path = list(error.absolute_path)
    where = ".".join(str(part) for part in path) or "(top level)"
    schema = error.schema if isinstance(error.schema, dict) else {}
    friendly = schema.get("x-error")
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed and not k.startswith("x-"))
        message = f"unknown key(s) {', '.join(map(repr, extra))} in {where}"
        line = min((document.line_of([*path, key]) or 0 for key in extra), default=0) or None
        return Finding(document.path, line or document.line_of(path), message)
    if error.validator == "required":
        message = f"{where}: {error.message}"
    elif isinstance(friendly, str):
        message = f"{where}: {friendly}"
    else:
        message = f"{where}: {error.message}"
    return document.problem(path, message)
