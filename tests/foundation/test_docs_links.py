"""The project carries its own documentation: every link in it stays inside the repository.

README.md, docs/*.md and policies/README.md are what an operator, a policy
author or a partner developer reads. A link to a file outside the repository
(the design notes the project was built from, a path on someone's machine)
is a dead end for them, so every relative link must resolve to a file or
folder inside the repository, an anchor in a Markdown file must name one of
its headings, and no page may send the reader to the design notes by name.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", ROOT / "policies" / "README.md", *(ROOT / "docs").glob("*.md")])

_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
# The design notes outside the repository, by the names the pages used to cite them.
_DESIGN_NOTES = re.compile(
    r"shared/design|\b(?:API|POLICY|ARCHITECTURE|SOURCE-API|DOMAIN|STYLE)\.md\b"
)


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """Lines outside fenced code blocks, with inline code spans blanked out."""
    lines: list[tuple[int, str]] = []
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, _INLINE_CODE.sub("", line)))
    return lines


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.replace("`", "").lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in "-_ ")
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else _HEADING.match(line)
        if match is None:
            continue
        slug = _slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def links(page: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for number, line in _prose_lines(page.read_text(encoding="utf-8")):
        found.extend((number, m.group(1)) for m in _LINK.finditer(line))
        reference = _REFERENCE.match(line)
        if reference is not None:
            found.append((number, reference.group(1)))
    return found


def problems_of(page: Path, root: Path = ROOT) -> list[str]:
    """Every link of ``page`` that leaves ``root``, is dead, or names a missing anchor."""
    problems: list[str] = []
    where = page.relative_to(root)
    for number, target in links(page):
        if re.match(r"^https?://", target):
            continue  # a web page, not a file; the design-notes check below still applies
        if _SCHEME.match(target) or target.startswith(("/", "\\")):
            problems.append(f"{where}:{number}: {target!r} is not a relative link")
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / unquote(path_part)).resolve() if path_part else page
        if not resolved.is_relative_to(root):
            problems.append(f"{where}:{number}: {target!r} points outside the repository")
        elif not resolved.exists():
            problems.append(f"{where}:{number}: {target!r} does not exist")
        elif anchor and resolved.suffix == ".md" and unquote(anchor) not in anchors(resolved):
            problems.append(f"{where}:{number}: {target!r} names no heading of that page")
    return problems


def test_the_pages_are_found() -> None:
    """The check reads the pages it is meant to read (an empty list would pass anything)."""
    names = {str(page.relative_to(ROOT)) for page in PAGES}
    assert {"README.md", "policies/README.md", "docs/api.md", "docs/architecture.md"} <= names
    assert all(page.is_file() for page in PAGES)
    assert sum(len(links(page)) for page in PAGES) > 50


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves_inside_the_repository(page: Path) -> None:
    assert problems_of(page) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_no_page_sends_the_reader_to_the_design_notes(page: Path) -> None:
    """The design notes are not part of the repository: cite docs/api.md and friends."""
    text = page.read_text(encoding="utf-8")
    hits = [
        f"{page.relative_to(ROOT)}:{number}: {match.group(0)}"
        for number, line in enumerate(text.splitlines(), start=1)
        for match in _DESIGN_NOTES.finditer(line)
    ]
    assert hits == []


def test_the_checker_catches_what_it_must(tmp_path: Path) -> None:
    """A dead link, a link out of the repository, a wrong anchor and a code span."""
    page = ROOT / "docs" / "api.md"
    assert "conventions-for-every-call" in anchors(page)
    assert _slug("3. Queries — built (without the optional `subject`)") == (
        "3-queries--built-without-the-optional-subject"
    )
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (repo / "docs" / "api.md").write_text(page.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "design").mkdir()
    (tmp_path / "design" / "API.md").write_text("# outside\n", encoding="utf-8")
    probe = repo / "docs" / "probe.md"
    probe.write_text(
        "# Probe\n\n"
        "[ok](api.md#conventions-for-every-call) [self](#probe) [web](https://example.org/x)\n"
        "[dead](no-such-page.md) [out](../../design/API.md)\n"
        "[anchor](api.md#no-such-heading) [abs](/etc/passwd) [file](file:///etc/passwd)\n"
        "`[in code](nowhere.md)`\n"
        "```\n[in a fence](nowhere.md)\n```\n",
        encoding="utf-8",
    )
    found = problems_of(probe, repo)
    assert len(found) == 5, found
    assert any("no-such-page.md" in p and "does not exist" in p for p in found)
    assert any("design/API.md" in p and "outside the repository" in p for p in found)
    assert any("no-such-heading" in p for p in found)
    assert sum("not a relative link" in p for p in found) == 2
