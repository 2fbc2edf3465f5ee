"""The audit log's pure core: canonical bytes, the Merkle tree, the checkpoint format, the verifier.

No database, no key store, no settings: an external verifier needs nothing
else, and the import contract in ``.importlinter`` keeps it so (the SQL side,
``gateway.audit.store`` and friends, builds on this; never the other way).
"""
