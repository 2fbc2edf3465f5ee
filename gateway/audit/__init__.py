"""Tamper-evident audit log (promises 6 and 7): canonical leaves, Merkle tree,
signed checkpoints, offline verification and the crypto-shredding vault.

The pure core lives in the submodules; storage and HTTP sit elsewhere so that
the verification code needs nothing but the public key.
"""
