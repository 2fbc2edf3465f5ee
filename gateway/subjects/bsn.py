"""The burgerservicenummer (BSN): validation, a leak-proof holder and keyed pseudonyms.

A BSN is the strongest identifier a Dutch person has, so it must never reach a
log line, an exception message or a traceback's locals by accident. `Bsn` hides
its digits from `repr`/`str`/`format`; only `reveal()` hands them out, at the
few places that must send the number to a source.

At rest Ketenpoort stores only the keyed pseudonym (promise 10): an HMAC under a
gateway secret, so the table cannot be reversed by hashing all 10^9 numbers
without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from typing import Final

_WEIGHTS: Final = (9, 8, 7, 6, 5, 4, 3, 2, -1)
_MIN_SECRET_BYTES: Final = 16
# Digits (any script's: ``\d`` on ``str`` is Unicode category Nd) in groups joined by a
# short run (one to three characters) of anything but a letter or a digit: "999990007",
# "9999 90 007", "9999.90.007", "999_990_007", "999/990/007", "999, 990, 007",
# "999 - 990 - 007", "٩٩٩٩٩٠٠٠٧". Linear: a separator never holds a digit, so each try
# backs off at most two characters.
_NUMBERS: Final = re.compile(r"\d+(?:[\W_]{1,3}\d+)*")
_SEPARATORS: Final = re.compile(r"[\W_]+")
_LONG_NUMBER: Final = re.compile(r"\d{8}")  # a BSN's length, less its leading zero
# ASCII text with at most seven digits in all, which can hold neither a BSN nor a long
# number: a C-level pre-check that spares the scans for nearly every value per request.
FEW_ASCII_DIGITS: Final = re.compile(r"[^0-9]*(?:[0-9][^0-9]*){0,7}", re.ASCII)
# Characters that show as nothing, or only on the character before them: format
# characters (zero-width space U+200B, soft hyphen U+00AD, word joiner, bidi marks) and
# combining marks (a keycap U+20E3 or an enclosing circle U+20DD drawn around a digit).
_INVISIBLE: Final = frozenset({"Cf", "Mn", "Me"})


def is_valid_bsn(value: object) -> bool:
    """True for nine ASCII digits that pass the 11-proof (elfproef), all zeros excluded."""
    if not isinstance(value, str) or len(value) != 9:
        return False
    if not (value.isascii() and value.isdigit()):
        return False
    if value == "000000000":
        return False
    # Written out, not summed over a generator: this runs on every request (employee
    # header, subject) and a generator costs a Python call per digit. Weights _WEIGHTS;
    # each byte is its digit plus 48, and 48 times the weights' sum (43) is 2064.
    d = value.encode("ascii")
    total = (
        (9 * d[0] + 8 * d[1] + 7 * d[2] + 6 * d[3] + 5 * d[4] + 4 * d[5] + 3 * d[6] + 2 * d[7])
        - d[8]
        - 2064
    )
    return total % 11 == 0


def scan_form(text: str) -> str:
    """``text`` as a reader sees its digits: NFKC-normalised, invisible characters dropped.

    NFKC turns superscript, circled, full-width and mathematical digits ("¹²³",
    "①", "１") into ASCII ones; the invisible characters (``_INVISIBLE``) would
    otherwise split a number that shows whole. ASCII text is already in this
    form and is handed back as is (the common case, per request).
    """
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return text
    return "".join(char for char in text if unicodedata.category(char) not in _INVISIBLE)


def holds_bsn(text: str) -> bool:
    """True if ``text`` contains a BSN as people write one.

    A run of 8 or 9 digits passing the 11-proof (eight: a BSN written without
    its leading zero), or nine digits in groups joined by one to three characters
    that are neither letter nor digit ("9999 90 007", "9999.90.007",
    "999_990_007", "123:456:782", "999 - 990 - 007"), digits of any script included, looked at in
    :func:`scan_form` (so "¹²³456782" and a zero-width space inside count too).
    For free identifiers and free text that the gateway writes in clear (an
    employee id, a peer's case id, a reason or note): a BSN there would sit
    outside the vault. Grouped numbers count only at exactly nine digits, so a
    date ("01-12-2026") or a phone number ("06-1234 5678") is not taken for one;
    the 11-proof turns away ten in eleven of the nine-digit joins that remain.
    """
    text = scan_form(text)
    for number in _NUMBERS.findall(text):  # loops, not any(<generator>): this runs per request
        if number.isdigit():  # one run, the common case
            if len(number) in (8, 9) and _passes(number):
                return True
            continue
        groups = _SEPARATORS.split(number)
        for start, group in enumerate(groups):
            if len(group) in (8, 9) and _passes(group):  # one run inside a grouped number
                return True
            digits = group
            for following in range(start + 1, len(groups)):  # at most nine joins: linear
                if len(digits) >= 9:
                    break
                digits += groups[following]
                if len(digits) == 9 and _passes(digits):
                    return True
    return False


def holds_long_number(text: str) -> bool:
    """True if ``text`` holds eight or more digits in a row once separators are removed.

    For identifiers that carry no number of that length by design (an employee
    id): read in :func:`scan_form` with every character that is neither letter
    nor digit taken out, so "123_456_782", "12.34.56.78" and "¹²³456782" all
    count as one run. Stricter than :func:`holds_bsn` (no 11-proof): an id
    refused by it never needs the guess whether a number is a BSN.
    """
    return _LONG_NUMBER.search(_SEPARATORS.sub("", scan_form(text))) is not None


def _passes(digits: str) -> bool:
    """The 11-proof for 8 or 9 digits of any script (``is_valid_bsn`` takes ASCII only)."""
    if not digits.isascii():
        digits = "".join(str(unicodedata.decimal(digit)) for digit in digits)
    return is_valid_bsn(digits.zfill(9))


def random_id(prefix: str, nbytes: int = 10, alphabet: str | None = None) -> str:
    """A fresh unguessable id: ``prefix`` and random hex (or ``alphabet``), no 8 digits in a row.

    The gateway writes its ids in clear (logs, URLs, a peer's records), and the
    API's ``Id`` type refuses any id holding eight or more digits in a row
    (:func:`holds_long_number`) or a BSN as people write one (:func:`holds_bsn`).
    Random hex holds such a run in about one draw in eight (20 hex characters),
    so such a draw is thrown away and drawn again: an id never looks like a
    person, and never fails our own or a peer's check by chance.
    """
    while True:
        if alphabet is None:
            body = secrets.token_hex(nbytes)
        else:
            body = "".join(secrets.choice(alphabet) for _ in range(nbytes))
        if not holds_long_number(body) and not holds_bsn(body):
            return prefix + body


class InvalidBsnError(ValueError):
    """Raised for a value that is not a BSN; the message never repeats the value."""

    def __init__(self) -> None:
        super().__init__("not a valid BSN (9 digits, 11-proof)")


class Bsn:
    """A validated BSN whose digits never appear in repr, str or f-strings."""

    __slots__ = ("_digits",)
    _digits: str

    def __init__(self, digits: str) -> None:
        if not is_valid_bsn(digits):
            raise InvalidBsnError()
        object.__setattr__(self, "_digits", digits)

    def reveal(self) -> str:
        """The nine digits; call only where the number must leave (a source look-up)."""
        return self._digits

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Bsn is immutable")

    def __repr__(self) -> str:
        return "Bsn(***)"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Bsn):
            return NotImplemented
        return hmac.compare_digest(self._digits, other._digits)

    def __hash__(self) -> int:
        return hash(("Bsn", self._digits))

    def __reduce__(self) -> tuple[type[Bsn], tuple[str]]:
        return (Bsn, (self._digits,))


class Pseudonymizer:
    """Turns a BSN into the stable keyed pseudonym Ketenpoort stores instead of it.

    The "bsn:" prefix separates this pseudonym space from any other identifier
    type we may pseudonymise under the same secret later.
    """

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes) -> None:
        if len(secret) < _MIN_SECRET_BYTES:
            raise ValueError(f"pseudonym secret must be at least {_MIN_SECRET_BYTES} bytes")
        self._secret = secret

    def pseudonym(self, bsn: Bsn) -> str:
        """Lowercase hex HMAC-SHA256(secret, "bsn:" + digits)."""
        message = ("bsn:" + bsn.reveal()).encode("ascii")
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "Pseudonymizer(secret=***)"
