"""Time-limited copies of source answers (covenant ``retention.copies``)."""

from gateway.copies.models import CachedCopy
from gateway.copies.store import (
    CopySlot,
    CopyStore,
    copies_duration,
    delete_case_copies,
    delete_source_records,
)

__all__ = [
    "CachedCopy",
    "CopySlot",
    "CopyStore",
    "copies_duration",
    "delete_case_copies",
    "delete_source_records",
]
