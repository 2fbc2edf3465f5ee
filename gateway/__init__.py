"""Ketenpoort: privacy-first federated data-exchange gateway for Zorg- en Veiligheidshuizen."""

__version__ = "0.1.0"
