"""Tests here use the shared ``stack`` fixture (tests/support/stack.py): a whole real stack
per test — the real gateway, the demo covenant with its workflow blocks, real demo sources
and real partner keys."""
