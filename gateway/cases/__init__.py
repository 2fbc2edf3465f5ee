"""Casussen: one case per person, its participants, phase and status."""
