"""The security suite attacks a whole real stack: gateway, demo sources and partner keys.

Each module is one theme of promises (see docs/security.md); every test's docstring names the
promise it guards and was seen to fail on the code before its fix. The ``stack`` fixture is
the shared one (tests/support/stack.py).
"""

from __future__ import annotations
