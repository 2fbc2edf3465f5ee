"""The privacy officer's page /privacy (API.md §5): search, detail, integrity, anomalies."""
