"""The people data is about (betrokkenen): how we recognise and pseudonymise them."""

from gateway.subjects.bsn import Bsn, InvalidBsnError, Pseudonymizer, is_valid_bsn

__all__ = ["Bsn", "InvalidBsnError", "Pseudonymizer", "is_valid_bsn"]
