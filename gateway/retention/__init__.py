"""Retention, expiry and deletion propagation (promises 7 and 8; docs/retention.md)."""

from gateway.retention.deletions import DeletionFeeds, apply_deletions, record_ref
from gateway.retention.lease import RunLock
from gateway.retention.rules import Rule, RuleContext
from gateway.retention.runner import Progress, RetentionRunner, RuleReport, RunReport

__all__ = [
    "DeletionFeeds",
    "Progress",
    "RetentionRunner",
    "Rule",
    "RuleContext",
    "RuleReport",
    "RunLock",
    "RunReport",
    "apply_deletions",
    "record_ref",
]
