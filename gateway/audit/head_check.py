"""Whether the newest signed tree head holds: the quick integrity check the FG's page shows.

O(log n) per call: the checkpoint's signature, and its root against the stored
tree. The full recomputation of every leaf, column and index row is
``ketenpoort audit verify`` (gateway.audit.integrity). The answer is a
machine-readable state; the words for a person belong to the page that shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import Session

from gateway.audit.checkpoints import latest_checkpoint
from gateway.audit.core import merkle
from gateway.audit.core.checkpoint_format import CheckpointError, verify_checkpoint
from gateway.audit.keyfiles import KeyFileError
from gateway.audit.store import SqlNodeStore, head_size
from gateway.keys import KeyStoreError

HeadProblem = Literal[
    "no_checkpoint",
    "no_key",
    "tree_mismatch",
    "bad_signature",
    "keys_unavailable",
    "tree_incomplete",
    "entries_missing",
]


@dataclass(frozen=True)
class HeadCheck:
    """The latest signed tree head and what, if anything, is wrong with it."""

    head_size: int
    checkpoint_size: int | None
    checkpoint_time: str | None
    root_hash: str | None
    problem: HeadProblem | None

    @property
    def ok(self) -> bool:
        """An empty log without a checkpoint is fine; any other problem is not."""
        return self.problem is None or (self.problem == "no_checkpoint" and self.head_size == 0)


def check_head(session: Session, jwks: Callable[[], Mapping[str, Any] | None]) -> HeadCheck:
    """Check the newest checkpoint's signature (keys from ``jwks``) and its root."""
    size = head_size(session)
    head = latest_checkpoint(session)
    if head is None:
        return HeadCheck(size, None, None, None, "no_checkpoint")
    problem: HeadProblem | None = None
    try:
        keys = jwks()
        if keys is None:
            problem = "no_key"
        else:
            verify_checkpoint(head, keys)
            stored_root = merkle.root(head.size, SqlNodeStore(session)) if head.size else None
            if stored_root is not None and stored_root.hex() != head.root_hash:
                problem = "tree_mismatch"
    except CheckpointError:
        problem = "bad_signature"
    except (KeyFileError, KeyStoreError):
        problem = "keys_unavailable"
    except (merkle.MerkleError, merkle.MissingNode):
        problem = "tree_incomplete"
    if problem is None and head.size > size:
        problem = "entries_missing"
    return HeadCheck(size, head.size, head.time, head.root_hash, problem)
