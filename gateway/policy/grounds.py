"""Legal grounds a covenant rule may require, and whether a recorded ground meets one.

Medical professional secrecy (WGBO, Wvggz) is not lifted by a covenant alone:
the person's consent (``toestemming_betrokkene``), a statutory ground
(``wettelijke_grondslag``, optionally with its article) or a documented
conflict of duties (``conflict_van_plichten``) must be recorded per case and
subject (API.md §2b). A rule lists the grounds of which any one suffices; a
requirement ``wettelijke_grondslag:<article>`` is met only by that article.
"""

from __future__ import annotations

from typing import Final, Literal

GroundKind = Literal["toestemming_betrokkene", "conflict_van_plichten", "wettelijke_grondslag"]
GROUND_KINDS: Final[tuple[GroundKind, ...]] = (
    "toestemming_betrokkene",
    "conflict_van_plichten",
    "wettelijke_grondslag",
)
PERSONS_CONSENT: Final = "toestemming_betrokkene"
STATUTORY: Final = "wettelijke_grondslag"


def requirement_kind(requirement: str) -> str:
    """``wettelijke_grondslag:Wpg art. 20`` → ``wettelijke_grondslag``."""
    return requirement.split(":", 1)[0]


def valid_requirement(requirement: str) -> bool:
    kind, _, article = requirement.partition(":")
    if kind not in GROUND_KINDS:
        return False
    return not article or (kind == STATUTORY and bool(article.strip()))


def meets(requirement: str, kind: str, article: str | None) -> bool:
    """Whether a recorded ground of ``kind`` (with ``article``) satisfies ``requirement``."""
    wanted, _, wanted_article = requirement.partition(":")
    if wanted != kind:
        return False
    return not wanted_article or (article or "").strip() == wanted_article.strip()
