"""Covenants (convenanten) and the policy decision: deny unless an active covenant permits.

Load with :func:`load_policy_dir`, compile with :func:`compile_policy` (or hold
and hot-reload with :class:`PolicyHolder`), decide with :func:`decide` (or, for the
many (source, category) pairs of one query, a :class:`Decider`).
"""

from gateway.policy.compiled import CompiledPolicy, compile_policy
from gateway.policy.decision import (
    CaseView,
    Decider,
    Decision,
    DecisionRequest,
    Outcome,
    Reason,
    decide,
)
from gateway.policy.durations import DurationError, IsoDuration, parse_duration
from gateway.policy.errors import Finding, PolicyError
from gateway.policy.explain import Explanation, Permission, explain
from gateway.policy.holder import PolicyHolder
from gateway.policy.loader import check_dir, load_policy_dir, scan_policy_dir
from gateway.policy.models import (
    PHASES,
    Catalogue,
    Category,
    Covenant,
    Party,
    Phase,
    PolicySet,
    Purpose,
    Rule,
    Sensitivity,
    TrustStoreError,
)
from gateway.policy.signatures import covenant_version, sign_covenant, verify_signatures

__all__ = [
    "PHASES",
    "CaseView",
    "Catalogue",
    "Category",
    "CompiledPolicy",
    "Covenant",
    "Decider",
    "Decision",
    "DecisionRequest",
    "DurationError",
    "Explanation",
    "Finding",
    "IsoDuration",
    "Outcome",
    "Party",
    "Permission",
    "Phase",
    "PolicyError",
    "PolicyHolder",
    "PolicySet",
    "Purpose",
    "Reason",
    "Rule",
    "Sensitivity",
    "TrustStoreError",
    "check_dir",
    "compile_policy",
    "covenant_version",
    "decide",
    "explain",
    "load_policy_dir",
    "parse_duration",
    "scan_policy_dir",
    "sign_covenant",
    "verify_signatures",
]
