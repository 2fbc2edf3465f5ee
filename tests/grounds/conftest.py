"""Tests here use the shared ``stack`` fixture (tests/support/stack.py): a whole real stack
per test, with the real gateway, real demo sources and real partner keys."""
