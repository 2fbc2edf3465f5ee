"""What every page must pass in the browser, at every width (issue 20).

* it fits: ``document.documentElement.scrollWidth <= innerWidth`` (no sideways
  scrolling; wide tables turn into cards or scroll in their own container) and
  the h1 is not cut off;
* no untranslated code: the visible text (outside ``<code>``, where an FG sees
  an id on purpose) holds no snake_case word like ``pending_consent``;
* axe-core (vendored in the pinned ``axe-playwright-python`` wheel) reports no
  serious or critical WCAG 2.0/2.1 A/AA violation;
* a full-page screenshot is kept as a test artefact, under
  ``$KETENPOORT_TEST_ARTIFACTS`` or ``var/test-artifacts/web`` (gitignored).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("KETENPOORT_TEST_ARTIFACTS", ROOT / "var" / "test-artifacts"))
WIDTHS = (360, 768, 1280)
HEIGHT = {360: 740, 768: 1024, 1280: 900}
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}

# The visible text, one text node at a time (so words of adjacent blocks never run
# together), without <code> (ids an FG or OvJ reads on purpose) and hidden elements.
VISIBLE_TEXT_JS = """() => {
  const skip = 'code, script, style, noscript, template';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const parts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip)) continue;
    if (!parent.checkVisibility({visibilityProperty: true})) continue;
    parts.push(node.textContent);
  }
  return parts.join(' ');
}"""
FIT_JS = """() => {
  const h1 = document.querySelector('h1');
  const box = h1 ? h1.getBoundingClientRect() : null;
  return {
    scroll: document.documentElement.scrollWidth,
    inner: window.innerWidth,
    h1_right: box ? box.right : 0,
    h1_left: box ? box.left : 0,
    h1_clipped: h1 ? h1.scrollWidth > h1.clientWidth + 1 : false,
  };
}"""


@functools.cache
def axe_script() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text("utf-8")


@dataclass
class Report:
    """What the checks found over a walk; kept so a failure names every page at once."""

    problems: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert not self.problems, "\n".join(self.problems)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "page"


def check_page(page: Any, name: str, width: int, report: Report) -> None:
    """Run every check on the page as it is now; record problems, save a screenshot."""
    where = f"{name} @ {width}px ({page.url})"
    report.pages.append(where)
    page.wait_for_load_state("load")
    fit = page.evaluate(FIT_JS)
    if fit["scroll"] > fit["inner"]:
        report.problems.append(f"{where}: document {fit['scroll']}px wide > {fit['inner']}px")
    if fit["h1_right"] > fit["inner"] + 0.5 or fit["h1_left"] < 0 or fit["h1_clipped"]:
        report.problems.append(f"{where}: h1 cut off ({fit})")
    text = page.evaluate(VISIBLE_TEXT_JS)
    codes = sorted(set(SNAKE.findall(text)))
    if codes:
        report.problems.append(f"{where}: untranslated codes {codes}")
    page.evaluate(axe_script())
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})",
        AXE_TAGS,
    )
    for violation in result["violations"]:
        if violation.get("impact") in BLOCKING:
            targets = [node["target"] for node in violation["nodes"]][:3]
            report.problems.append(
                f"{where}: axe {violation['impact']} {violation['id']}: "
                f"{violation['help']} {targets}"
            )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"{_slug(name)}-{width}.png"
    page.screenshot(path=str(shot), full_page=True)
