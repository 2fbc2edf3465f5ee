"""A peer gateway's query answer: the consent id it names is stored and logged here.

``consent_id`` of a peer's ``ok`` result travels into our audit entry (in clear)
and, with a ``withheld_until``, into a row of ``withholdings`` (``String(40)``).
Free text up to 200 characters was taken: a BSN in it sat in the log in clear
(beyond crypto-shredding), and an id the column cannot hold made the database
refuse the write inside the audit group commit. It is held to the shape of an id
the gateway mints, as a peer's rights request id is. Failed before the fix
(branch ``review``).
"""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from connectors.federation_wire import WireQueryAnswer


def _answer(consent_id: str) -> bytes:
    result = {
        "source": "politie",
        "category": "contacten",
        "status": "ok",
        "reason": "permitted",
        "consent_id": consent_id,
        "withheld_until": "2099-01-01",
        "records": [],
    }
    return json.dumps({"query_id": "q-1", "results": [result]}).encode()


def test_a_peer_consent_id_is_an_id_we_could_store_and_log() -> None:
    assert WireQueryAnswer.model_validate_json(_answer("oc-" + "a1" * 10)).results
    for hostile in ("oc-" + "a" * 38, "999990081", "oc-999990081", "oc-\u0000", "oc 1"):
        with pytest.raises(ValidationError):
            WireQueryAnswer.model_validate_json(_answer(hostile))
