"""Helpers that start real things for tests (servers on loopback, ...)."""
