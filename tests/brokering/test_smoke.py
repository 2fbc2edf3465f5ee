from __future__ import annotations

from gateway.demo.stack import Stack
from gateway.demodata.people import demo_people
from tests.brokering.support import MOTIVATION


def test_open_and_query(stack: Stack) -> None:
    gemeente = stack.client("gemeente-demo")
    gemeente.login("zvh-demo", "pga-casusoverleg")
    person = demo_people()[0]
    opened = gemeente.open_case(
        "zvh-demo",
        "pga-casusoverleg",
        person.bsn.reveal(),
        ["politie-demo", "reclassering-demo"],
        "casusoverleg",
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    response = gemeente.query(
        case_id, ["huisvesting", "justitiele_gegevens", "psychisch_welzijn"], motivation=MOTIVATION
    )
    assert response.status_code == 200, response.text
    print(response.json())
