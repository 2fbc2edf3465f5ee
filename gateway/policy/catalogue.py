"""The category catalogue (``policies/catalogue.yaml``): the menu covenants choose from.

Keeping one catalogue per installation means "psychisch_welzijn" means the
same thing, with the same maximum set of fields, in every covenant; a covenant
may narrow the fields or raise the sensitivity, never widen or lower them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from gateway.policy.document import read_document
from gateway.policy.errors import Finding
from gateway.policy.models import Catalogue
from gateway.policy.schema import validate

CATALOGUE_FILE = "catalogue.yaml"


def load_catalogue(path: Path, schema_file: Path) -> tuple[Catalogue | None, list[Finding]]:
    """Parse, validate and check the catalogue; ``None`` when it has errors."""
    if not path.exists():
        return None, [Finding(path, None, "the category catalogue is missing")]
    document, problems = read_document(path)
    if document is None:
        return None, problems
    problems = validate(document, schema_file, catalogue=True)
    if problems:
        return None, problems
    seen: set[str] = set()
    for index, entry in enumerate(document.data["categories"]):
        if entry["id"] in seen:
            problems.append(
                document.problem(("categories", index, "id"), f"duplicate category {entry['id']!r}")
            )
        seen.add(entry["id"])
    if problems:
        return None, problems
    try:
        catalogue = Catalogue.model_validate(
            {"categories": document.data["categories"], "source_path": path}
        )
    except ValidationError as error:
        return None, [Finding(path, None, f"invalid catalogue: {error}")]
    return catalogue, []
