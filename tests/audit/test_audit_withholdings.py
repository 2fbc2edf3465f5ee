"""``audit verify`` covers the withholding rows inzage honours, not only the log.

Inzage leaves out every disclosure a row of ``withholdings`` (the OvJ's) or
``rights_withholdings`` (a source party's) covers. Neither table is hashed
into the tree: an insider who inserted one row took a person's inzage from the
disclosures to none, shown as held back "op verzoek van de OvJ" without any
consent behind it, and ``audit verify`` (sequential and the parallel pass) said
ok. Extending a lawful row's ``until`` hid the disclosures longer than ordered,
also unseen. Verify now requires every row to be backed by the entry logged
with it, and names the table (never a pseudonym). Review round 3; each tamper
test failed before the fix.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, update

from gateway.audit.core.offline_verify import VerifyResult
from gateway.audit.erasure import erase_subject
from gateway.audit.integrity import verify_database
from gateway.audit.parallel_verify import verify_database_parallel
from gateway.consent.withholdings import Withholding
from gateway.demo.stack import Stack
from gateway.rights.models import PartnerWithholding
from gateway.subjects.bsn import Bsn
from tests.brokering.support import BSN, logged_in, open_case
from tests.consent.support import CRIMINAL, ask, grant, in_days, om, pending_id
from tests.rights.support import patient_sources

HOUSING = "huisvesting"
TOMORROW = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()


def _verify(stack: Stack) -> VerifyResult:
    runtime = stack.runtime
    runtime.audit.checkpoint_now()
    jwks = runtime.audit_desk.signer_jwks()
    return verify_database(runtime.db, jwks, vault=runtime.audit.vault).result


def _fast_pass_accepts(stack: Stack) -> bool:
    """The parallel pass, on slices of two entries: ``None`` means it defers to the sequential."""
    runtime = stack.runtime
    jwks = runtime.audit_desk.signer_jwks()
    found = verify_database_parallel(
        runtime.db, jwks, vault=runtime.audit.vault, workers=2, slice_level=1
    )
    return found is not None and found[0].ok


def _categories_shown(stack: Stack) -> list[str | None]:
    found = stack.runtime.rights_desk.inzage(Bsn(BSN), "api")
    return [d.category for d in found.disclosures]


def test_an_inserted_withholding_row_fails_verify_naming_the_table(stack: Stack) -> None:
    """The reviewer's row: no consent, no entry, inzage loses the disclosure; verify says so."""
    patient_sources(stack)
    gemeente, case_id = open_case(stack)
    asked = gemeente.call("POST", f"/v1/cases/{case_id}/queries", {"categories": [HOUSING]})
    assert asked.status_code == 200, asked.text
    assert HOUSING in _categories_shown(stack)
    assert _verify(stack).ok

    runtime = stack.runtime
    pseudonym = runtime.pseudonymizer.pseudonym(Bsn(BSN))
    with runtime.db.session() as session:  # an insider with write access, outside the log
        session.add(
            Withholding(
                subject_pseudonym=pseudonym,
                case_id=case_id,
                category=HOUSING,
                recipient="gemeente-demo",
                ground="lopend_onderzoek",
                until=date(2030, 1, 1),
                consent_id=None,
                created_by_party="om-demo",
                created_at=datetime.now(UTC),
            )
        )
        session.commit()
    assert HOUSING not in _categories_shown(stack), "the row does hide the disclosure"

    result = _verify(stack)
    assert not result.ok
    assert result.first_bad_seq is None
    assert result.problem is not None and result.problem.startswith("withholdings row ")
    assert pseudonym not in result.problem
    assert not _fast_pass_accepts(stack)


def test_a_lawful_ovj_withholding_verifies_and_an_extended_one_does_not(stack: Stack) -> None:
    """Granted with ``withheld_until`` through the API: ok. ``until`` moved later: a mismatch."""
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    grant(om(stack), consent_id, withheld_until=in_days(90))
    ask(gemeente, case_id)
    assert CRIMINAL not in _categories_shown(stack)
    assert _verify(stack).ok
    assert _fast_pass_accepts(stack)

    with stack.runtime.db.session() as session:
        lawful = session.scalars(select(Withholding.id)).all()
        assert lawful
        session.execute(
            update(Withholding)
            .where(Withholding.id == lawful[0])
            .values(until=date.fromisoformat(in_days(91)))
        )
        session.commit()
    result = _verify(stack)
    assert not result.ok
    assert result.problem == f"withholdings row {lawful[0]} is backed by no entry in the log"
    assert not _fast_pass_accepts(stack)

    with stack.runtime.db.session() as session:  # shortened: hides nothing the OvJ did not
        session.execute(
            update(Withholding)
            .where(Withholding.id == lawful[0])
            .values(until=date.fromisoformat(in_days(30)))
        )
        session.commit()
    assert _verify(stack).ok


def test_a_lawful_ovj_withholding_copied_to_another_category_fails(stack: Stack) -> None:
    """Every column inzage matches by is checked: the grant covered only criminal data."""
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    grant(om(stack), consent_id, withheld_until=in_days(90))
    with stack.runtime.db.session() as session:
        assert session.scalars(select(Withholding.id)).all()
        session.execute(update(Withholding).values(category=HOUSING))
        session.commit()
    result = _verify(stack)
    assert not result.ok and result.problem is not None
    assert result.problem.startswith("withholdings row ")


def test_a_partner_withholding_verifies_and_an_extended_one_does_not(stack: Stack) -> None:
    """``POST /v1/withholdings`` is backed by its ``rights``/``withheld`` entry; a later
    ``until`` or an inserted copy for another category is named by table."""
    _, case_id = open_case(stack)
    ggz = logged_in(stack, "ggz-demo")
    body = {"case": case_id, "category": "psychisch_welzijn", "ground": "bescherming_slachtoffer"}
    done = ggz.call("POST", "/v1/withholdings", {**body, "until": TOMORROW})
    assert done.status_code == 201, done.text
    assert _verify(stack).ok
    assert _fast_pass_accepts(stack)

    with stack.runtime.db.session() as session:
        (row_id,) = session.scalars(select(PartnerWithholding.id)).all()
        session.execute(
            update(PartnerWithholding)
            .where(PartnerWithholding.id == row_id)
            .values(until=date(2030, 1, 1))
        )
        session.commit()
    result = _verify(stack)
    assert not result.ok
    assert result.problem == f"rights_withholdings row {row_id} is backed by no entry in the log"
    assert not _fast_pass_accepts(stack)


def test_a_partner_withholding_with_another_ground_fails(stack: Stack) -> None:
    """The ground is what inzage tells the person: it must be the one logged."""
    _, case_id = open_case(stack)
    ggz = logged_in(stack, "ggz-demo")
    body = {"case": case_id, "category": "psychisch_welzijn", "ground": "bescherming_slachtoffer"}
    assert ggz.call("POST", "/v1/withholdings", {**body, "until": TOMORROW}).status_code == 201
    with stack.runtime.db.session() as session:
        session.execute(update(PartnerWithholding).values(ground="lopend_onderzoek"))
        session.commit()
    result = _verify(stack)
    assert not result.ok and result.problem is not None
    assert result.problem.startswith("rights_withholdings row ")


def test_rows_whose_entries_were_lawfully_shredded_still_verify(stack: Stack) -> None:
    """Crypto-shredding cuts an entry's link to the person, not the row: no false alarm.

    The grant's entry is under the case's key, shredded with the case, while the row
    (and the criminal disclosures' four-year key) stays; the partner's entry is under
    the person's own key. With the key gone the entry is matched on every other field.
    """
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    grant(om(stack), consent_id, withheld_until=in_days(90))
    ask(gemeente, case_id)
    ggz = logged_in(stack, "ggz-demo")
    body = {"case": case_id, "category": "psychisch_welzijn", "ground": "bescherming_melder"}
    assert ggz.call("POST", "/v1/withholdings", {**body, "until": TOMORROW}).status_code == 201
    assert _verify(stack).ok

    runtime = stack.runtime
    pseudonym = runtime.pseudonymizer.pseudonym(Bsn(BSN))
    with runtime.db.session() as session:
        erased = erase_subject(session, pseudonym)
        session.commit()
    assert erased.keys_erased and erased.strafrechtelijk_kept, erased
    assert CRIMINAL not in _categories_shown(stack), "the row still withholds"
    assert _verify(stack).ok
    assert _fast_pass_accepts(stack)
