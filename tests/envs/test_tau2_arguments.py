"""tau2's tools check their arguments where they build a pydantic model from them, and
lamstudio's copies check them at the same points with the same models: the mistakes a small
model makes are refused, converted or stored exactly as in tau2 (the random-call agreement
test, ``test_tau2_random_calls.py``, compares with tau2 itself). Any bad argument is one
tool error the model sees, never the end of an episode."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.envs.tau2_calls import _sites
from tests.support.hostile import ARGUMENT_VALUES

from lamstudio.envs import EnvRunner, make_env
from lamstudio.eval import Call

ADDRESS = {"address1": "1 Main St", "address2": "Suite 2", "city": "Austin", "state": "TX",
           "country": "USA", "zip": "73301"}
PASSENGER = {"first_name": "Mia", "last_name": "Li", "dob": "1990-04-05"}


def _run(runner: EnvRunner, name: str, **arguments: Any) -> str:
    return runner.run(Call(name, arguments))


def _booking(**change: Any) -> dict[str, Any]:
    """Mia Li's one-way economy seat on HAT136 (152), paid by credit card."""
    return {"user_id": "mia_li_3668", "origin": "JFK", "destination": "SEA",
            "flight_type": "one_way", "cabin": "economy",
            "flights": [{"flight_number": "HAT136", "date": "2024-05-20"}],
            "passengers": [PASSENGER],
            "payment_methods": [{"payment_id": "credit_card_4421486", "amount": 152}],
            "total_baggages": 0, "nonfree_baggages": 0, "insurance": "no", **change}


@pytest.mark.parametrize("tool,target", [("modify_user_address", {"user_id": "sofia_rossi_8776"}),
                                         ("modify_pending_order_address",
                                          {"order_id": "#W5918442"})])
@pytest.mark.parametrize("field,value", [("zip", 78784), ("address2", None),
                                         ("city", ["Austin"])])
def test_retail_address_fields_must_be_strings(tool, target, field, value) -> None:
    runner = EnvRunner(make_env("tau2:retail"))
    before = runner.state_hash()
    out = _run(runner, tool, **target, **{**ADDRESS, field: value})
    assert out.startswith("Error during execution: 1 validation error for UserAddress")
    assert runner.state_hash() == before
    assert not _run(runner, tool, **target, **ADDRESS).startswith("Error")


@pytest.mark.parametrize("passengers", [[{**PASSENGER, "dob": 19900405}], ["Mia Li"],
                                        [PASSENGER, "Kevin Smith"]])
def test_a_passenger_is_an_object_of_three_strings(passengers) -> None:
    runner = EnvRunner(make_env("tau2:airline"))
    before = runner.state_hash()
    out = _run(runner, "book_reservation", **_booking(passengers=passengers))
    assert out.startswith("Error during execution: 1 validation error for ")
    assert runner.state_hash() == before


def test_replaced_passengers_are_checked_too() -> None:
    runner = EnvRunner(make_env("tau2:airline"))
    before = runner.state_hash()
    out = _run(runner, "update_reservation_passengers", reservation_id="4WQ150",
               passengers=[{**PASSENGER, "dob": 19900405}] * 2)
    assert out.startswith("Error during execution: 1 validation error for Passenger")
    assert runner.state_hash() == before


def test_numbers_written_as_text_are_converted_where_tau2_converts_them() -> None:
    runner = EnvRunner(make_env("tau2:airline"))
    out = json.loads(_run(runner, "book_reservation", **_booking(
        payment_methods=[{"payment_id": "credit_card_4421486", "amount": "152"}],
        total_baggages="1", nonfree_baggages=0.0)))
    assert out["payment_history"] == [{"payment_id": "credit_card_4421486", "amount": 152}]
    assert (out["total_baggages"], out["nonfree_baggages"]) == (1, 0)
    # A certificate's amount is a float in tau2: "100" is 100.0, and pays a later booking.
    _run(runner, "send_certificate", user_id="mia_li_3668", amount="100")
    certificate = runner.env.state["users"]["mia_li_3668"]["payment_methods"][
        "certificate_3221322"]
    assert certificate["amount"] == 100.0 and isinstance(certificate["amount"], float)
    out = _run(runner, "book_reservation", **_booking(payment_methods=[
        {"payment_id": "certificate_3221322", "amount": 100},
        {"payment_id": "credit_card_4421486", "amount": 52}]))
    assert json.loads(out)["reservation_id"] == "HATHAU"


@pytest.mark.parametrize("change", [{"total_baggages": 0.5}, {"total_baggages": None},
                                    {"nonfree_baggages": "1"}, {"origin": 7},
                                    {"payment_methods": [{"payment_id": "credit_card_4421486",
                                                          "amount": 152.5}]}])
def test_a_booking_refuses_what_tau2_refuses(change) -> None:
    runner = EnvRunner(make_env("tau2:airline"))
    before = runner.state_hash()
    assert _run(runner, "book_reservation", **_booking(**change)).startswith("Error")
    assert runner.state_hash() == before


@pytest.mark.parametrize("amount", [None, "a hundred", [100]])
def test_a_certificate_amount_must_be_a_number(amount) -> None:
    runner = EnvRunner(make_env("tau2:airline"))
    before = runner.state_hash()
    out = _run(runner, "send_certificate", user_id="mia_li_3668", amount=amount)
    assert out.startswith("Error during execution: 1 validation error for Certificate")
    assert runner.state_hash() == before


def test_a_fractional_baggage_total_debits_the_gift_card_then_fails_as_in_tau2() -> None:
    runner = EnvRunner(make_env("tau2:airline"))
    card = runner.env.state["users"]["yara_garcia_1905"]["payment_methods"]["gift_card_6941833"]
    reservation = runner.env.state["reservations"]["HXDUBJ"]
    out = _run(runner, "update_reservation_baggages", reservation_id="HXDUBJ",
               total_baggages=1, nonfree_baggages=0.25, payment_id="gift_card_6941833")
    # 50 * 0.25 is 12.5: tau2 takes it off the card, then its Payment model refuses a
    # fractional amount, and the reservation stays as it was.
    assert "validation error for Payment" in out
    assert card["amount"] == 152.0 - 12.5
    assert (reservation["total_baggages"], reservation["nonfree_baggages"]) == (0, 0)
    assert len(reservation["payment_history"]) == 1


def _one_call_per_tool(domain: str) -> list[dict[str, Any]]:
    import random

    return [sites[0][0][sites[0][1]] for sites in _sites(domain, random.Random(0)).values()]


@pytest.mark.parametrize("domain", ["retail", "airline"])
@pytest.mark.parametrize("kind", sorted(ARGUMENT_VALUES))
def test_any_hostile_argument_is_one_tool_result(domain: str, kind: str) -> None:
    """Every argument of every tool, given a hostile value a parsed reply can hold: the
    call answers (an error the model sees, or a result), and the state still hashes."""
    for call in _one_call_per_tool(domain):
        for name in call["arguments"]:
            runner = EnvRunner(make_env(f"tau2:{domain}"))
            out = runner.run(Call(call["name"], {**call["arguments"],
                                                 name: ARGUMENT_VALUES[kind]}))
            assert isinstance(out, str)
            assert len(runner.state_hash()) == 64


def test_calculate_matches_python_arithmetic_and_refuses_a_power_that_would_hang():
    from lamstudio.envs._tau2_base import calculate

    for expr in ("1+2*3", "10/4", "2**0.5", "(1+2)*3.5", "-5+ +3", "7//2", "2**10"):
        assert calculate(expr) == str(round(float(eval(expr)), 2))  # noqa: S307 - literals
    with pytest.raises(ZeroDivisionError):
        calculate("1/0")
    with pytest.raises(ValueError, match="too large"):
        calculate("9**9**9")  # tau2's eval never returns
