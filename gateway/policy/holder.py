"""The policy in force, swapped atomically on reload (SIGHUP or a file watcher).

A reload that finds errors keeps the old policy: a typo in a covenant must
never take the gateway down or, worse, leave it without rules.
"""

from __future__ import annotations

import threading
from pathlib import Path

from gateway.policy.compiled import CompiledPolicy, compile_policy
from gateway.policy.errors import Finding
from gateway.policy.loader import load_policy_dir, scan_policy_dir


class PolicyHolder:
    """Readers take ``holder.current`` once per request and use that object throughout."""

    def __init__(
        self, policy_dir: Path, require_keys: bool = True, *, dev_mode: bool = False
    ) -> None:
        self.policy_dir = policy_dir
        self.require_keys = require_keys
        self.dev_mode = dev_mode
        self._lock = threading.Lock()
        self._current = compile_policy(load_policy_dir(policy_dir, require_keys, dev_mode=dev_mode))

    @property
    def current(self) -> CompiledPolicy:
        return self._current

    def reload(self) -> list[Finding]:
        """Load the directory again; swap only if it is valid. Returns every problem found."""
        with self._lock:
            policy_set, problems = scan_policy_dir(
                self.policy_dir, self.require_keys, dev_mode=self.dev_mode
            )
            if policy_set is not None:
                self._current = compile_policy(policy_set)
            return problems
