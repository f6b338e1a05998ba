"""The built-in library: its shape (size, categories, names, specs) and, per category, a
table of calls with known answers and of bad values that must be refused clearly."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator

from lamstudio.tools import BadArgumentsError, builtin_registry, reset_tool_state


@pytest.fixture(scope="module")
def registry():
    return builtin_registry()


@pytest.fixture(autouse=True)
def fresh_state():
    reset_tool_state()
    yield
    reset_tool_state()


def test_library_has_at_least_40_tools_in_8_categories(registry):
    assert len(registry) >= 40
    sizes = {cat: len(names) for cat, names in registry.categories().items()}
    assert len(sizes) >= 8 and min(sizes.values()) >= 4, sizes


def test_names_are_unique_snake_case(registry):
    names = registry.names()
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", n) for n in names), names


def test_every_spec_is_valid_and_documented(registry):
    for spec in registry.specs():
        fn = spec.function
        Draft202012Validator.check_schema(fn.parameters)
        assert fn.parameters["type"] == "object"
        assert len(fn.description) >= 20, fn.name
        for pname, schema in fn.parameters["properties"].items():
            assert schema.get("description"), f"{fn.name}.{pname} has no description"
            assert "type" in schema or "enum" in schema or "anyOf" in schema


def approx(expected):
    """Dict/list/number comparison with float tolerance, dict subsets allowed."""
    if isinstance(expected, dict):
        return _Subset(expected)
    if isinstance(expected, float):
        return pytest.approx(expected, rel=1e-6, abs=1e-6)
    return expected


class _Subset:
    def __init__(self, expected):
        self.expected = expected

    def __eq__(self, actual):
        return isinstance(actual, dict) and all(
            k in actual and approx(v) == actual[k] for k, v in self.expected.items())

    def __repr__(self):
        return f"subset of {self.expected!r}"


CASES = {
    "math": [
        ("evaluate_expression", {"expression": "2 * (3 + 4) ** 2 / sqrt(16)"}, {"result": 24.5}),
        ("evaluate_expression", {"expression": "7 // 2 + 2 ** 10"}, {"result": 1027}),
        ("is_prime", {"n": 97}, {"is_prime": True}),
        ("is_prime", {"n": 91}, {"is_prime": False}),
        ("prime_factors", {"n": 360}, {"factors": [2, 2, 2, 3, 3, 5]}),
        ("greatest_common_divisor", {"numbers": [48, 180, 64]}, {"gcd": 4}),
        ("least_common_multiple", {"numbers": [4, 6, 10]}, {"lcm": 60}),
        ("solve_quadratic", {"a": 1, "b": -3, "c": 2}, {"roots": [1.0, 2.0], "complex": False}),
        ("solve_quadratic", {"a": 1, "b": 2, "c": 5},
         {"complex": True, "roots": [{"real": -1.0, "imag": -2.0}, {"real": -1.0, "imag": 2.0}]}),
        ("factorial", {"n": 10}, {"factorial": 3628800}),
        ("binomial_coefficient", {"n": 52, "k": 5}, {"combinations": 2598960}),
        ("fibonacci", {"n": 10}, {"sequence": [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]}),
        ("convert_number_base", {"number": "ff", "from_base": 16, "to_base": 2},
         {"decimal": 255, "result": "11111111"}),
        ("percentage", {"part": 45, "whole": 180}, {"percentage": 25.0}),
    ],
    "statistics": [
        ("describe_data", {"values": [2, 4, 4, 4, 5, 5, 7, 9]},
         {"mean": 5.0, "median": 4.5, "mode": 4.0, "std_dev": 2.13809, "range": 7.0}),
        ("percentile", {"values": [1, 2, 3, 4, 5], "q": 90}, {"percentile": 4.6}),
        ("linear_regression", {"x": [1, 2, 3, 4], "y": [2, 4, 6, 8]},
         {"slope": 2.0, "intercept": 0.0, "r_squared": 1.0}),
        ("correlation", {"x": [1, 2, 3], "y": [3, 2, 1]}, {"pearson_r": -1.0}),
        ("z_score", {"value": 85, "mean": 70, "std_dev": 10}, {"z_score": 1.5}),
        ("moving_average", {"values": [1, 2, 3, 4, 5], "window": 3},
         {"averages": [2.0, 3.0, 4.0]}),
        ("weighted_average", {"values": [80, 90], "weights": [1, 3]},
         {"weighted_average": 87.5}),
    ],
    "units": [
        ("convert_units", {"value": 10, "from_unit": "km", "to_unit": "mi"},
         {"result": 6.21371192}),
        ("convert_units", {"value": 1, "from_unit": "pounds", "to_unit": "kg"},
         {"result": 0.45359237, "quantity": "mass"}),
        ("convert_units", {"value": 1, "from_unit": "GiB", "to_unit": "MB"},
         {"result": 1073.741824}),
        ("convert_units", {"value": 1, "from_unit": "gallon", "to_unit": "l"},
         {"result": 3.785411784}),
        ("convert_temperature", {"value": 100, "from_unit": "C", "to_unit": "F"},
         {"result": 212.0}),
        ("convert_temperature", {"value": 32, "from_unit": "F", "to_unit": "K"},
         {"result": 273.15}),
        ("convert_fuel_economy", {"value": 30, "from_unit": "mpg_us", "to_unit": "l_per_100km"},
         {"result": 7.8405}),
        ("calculate_bmi", {"weight_kg": 70, "height_m": 1.75},
         {"bmi": 22.9, "category": "normal"}),
        ("list_units", {"quantity": "pressure"},
         {"pressure": {"base": "Pa", "units": ["Pa", "kPa", "bar", "atm", "psi", "mmHg"]}}),
    ],
    "datetime": [
        ("convert_timezone", {"datetime_str": "2024-03-10T09:30",
                              "from_timezone": "America/New_York", "to_timezone": "Asia/Tokyo"},
         {"result": "2024-03-10T22:30:00+09:00"}),  # New York is already on DST that day
        ("days_between", {"start_date": "2024-01-15", "end_date": "2024-03-01"}, {"days": 46}),
        ("add_to_date", {"date_str": "2024-01-31", "months": 1},
         {"result": "2024-02-29", "weekday": "Thursday"}),
        ("add_to_date", {"date_str": "2024-03-01", "days": -1}, {"result": "2024-02-29"}),
        ("day_of_week", {"date_str": "2024-07-04"}, {"weekday": "Thursday"}),
        ("business_days_between", {"start_date": "2024-12-23", "end_date": "2025-01-01",
                                   "holidays": ["2024-12-25", "2024-12-26"]},
         {"business_days": 5}),
        ("is_leap_year", {"year": 1900}, {"is_leap_year": False}),
        ("is_leap_year", {"year": 2000}, {"is_leap_year": True}),
        ("days_in_month", {"year": 2025, "month": 2}, {"days": 28, "first_weekday": "Saturday"}),
        ("calculate_age", {"birth_date": "1990-05-17", "on_date": "2026-11-22"},
         {"years": 36, "days_since_birthday": 189}),
        ("unix_to_datetime", {"timestamp": 1700000000},
         {"datetime": "2023-11-14T22:13:20+00:00", "weekday": "Tuesday"}),
        ("datetime_to_unix", {"datetime_str": "2024-01-01T00:00"}, {"timestamp": 1704067200}),
        ("get_week_number", {"date_str": "2024-12-30"}, {"iso_year": 2025, "week": 1}),
    ],
    "text": [
        ("text_statistics", {"text": "Hello world. How are you?"}, {"words": 5, "sentences": 2}),
        ("change_case", {"text": "hello world example", "style": "camel"},
         {"result": "helloWorldExample"}),
        ("change_case", {"text": "HelloWorld Example", "style": "snake"},
         {"result": "hello_world_example"}),
        ("slugify", {"text": "Crème Brûlée: A Recipe!"}, {"slug": "creme-brulee-a-recipe"}),
        ("is_palindrome", {"text": "A man, a plan, a canal: Panama"}, {"is_palindrome": True}),
        ("reverse_text", {"text": "one two three", "by": "words"}, {"result": "three two one"}),
        ("extract_emails",
         {"text": "Write to ana@example.com or li.wei@mail.example.org, or ana@example.com."},
         {"emails": ["ana@example.com", "li.wei@mail.example.org"], "count": 2}),
        ("extract_urls", {"text": "See https://example.com/docs, and http://test.org."},
         {"urls": ["https://example.com/docs", "http://test.org"]}),
        ("count_occurrences", {"text": "The cat and the hat", "substring": "the"}, {"count": 2}),
        ("levenshtein_distance", {"source": "kitten", "target": "sitting"},
         {"distance": 3, "similarity": 0.5714}),
        ("caesar_cipher", {"text": "Hello, World!", "shift": 3}, {"result": "Khoor, Zruog!"}),
        ("caesar_cipher", {"text": "Khoor", "shift": 3, "decode": True}, {"result": "Hello"}),
        ("base64_encode", {"text": "hello"}, {"encoded": "aGVsbG8="}),
        ("base64_decode", {"encoded": "aGVsbG8="}, {"text": "hello"}),
        ("hash_text", {"text": "abc"}, {"hexdigest": "ba7816bf8f01cfea414140de5dae2223b00361a3"
                                                     "96177a9cb410ff61f20015ad"}),
        ("truncate_text", {"text": "The quick brown fox jumps", "max_length": 15},
         {"result": "The quick...", "truncated": True}),
    ],
    "finance": [
        ("loan_payment", {"principal": 200000, "annual_rate": 0.06, "years": 30},
         {"payment": 1199.10, "number_of_payments": 360, "total_interest": 231676.38}),
        ("amortization_schedule", {"principal": 1000, "annual_rate": 0.12, "years": 1,
                                   "max_rows": 2},
         {"number_of_payments": 12}),
        ("compound_interest", {"principal": 1000, "annual_rate": 0.05, "years": 10,
                               "compounds_per_year": 1}, {"future_value": 1628.89}),
        ("simple_interest", {"principal": 1000, "annual_rate": 0.05, "years": 3},
         {"interest": 150.0, "total": 1150.0}),
        ("net_present_value", {"rate": 0.1, "cash_flows": [-1000, 500, 500, 500]},
         {"npv": 243.43}),
        ("future_value_of_annuity", {"payment": 100, "rate": 0.05, "periods": 10},
         {"future_value": 1257.79}),
        ("return_on_investment", {"initial_value": 1000, "final_value": 1500, "years": 2},
         {"roi_percent": 50.0, "annualized_percent": 22.4745}),
        ("break_even_point", {"fixed_costs": 10000, "price_per_unit": 50,
                              "variable_cost_per_unit": 30},
         {"break_even_units": 500.0, "break_even_revenue": 25000.0}),
        ("calculate_tip", {"bill_amount": 100, "tip_percent": 18, "people": 4},
         {"tip": 18.0, "total": 118.0, "per_person": 29.5}),
        ("apply_discount", {"price": 80, "discount_percent": 25, "tax_percent": 10},
         {"discounted_price": 60.0, "savings": 20.0, "final_price": 66.0}),
    ],
    "geography": [
        ("get_city_coordinates", {"city": "lisbon"},
         {"city": "Lisbon", "country": "PT", "timezone": "Europe/Lisbon"}),
        ("get_city_coordinates", {"city": "sao paulo"}, {"city": "São Paulo", "country": "BR"}),
        ("haversine_distance", {"latitude1": 10, "longitude1": 20, "latitude2": 10,
                                "longitude2": 20}, {"distance": 0.0}),
        ("find_nearest_city", {"latitude": 48.85, "longitude": 2.35}, {"city": "Paris"}),
        ("get_country_info", {"country": "JPN"},
         {"name": "Japan", "capital": "Tokyo", "currency": "JPY", "calling_code": "+81"}),
        ("get_local_time_in_city", {"city": "Sydney", "utc_datetime": "2024-06-01T12:00"},
         {"local_time": "2024-06-01T22:00:00+10:00"}),
    ],
    "reference": [
        ("get_element_info", {"element": "iron"},
         {"symbol": "Fe", "atomic_number": 26, "atomic_mass": 55.845, "period": 4, "group": 8}),
        ("get_element_info", {"element": "79"}, {"name": "Gold", "group": 11}),
        ("get_element_info", {"element": "He"}, {"period": 1, "group": 18}),
        ("get_element_info", {"element": "Og"}, {"period": 7, "group": 18}),
        ("get_element_info", {"element": "cerium"}, {"period": 6, "group": None}),
        ("calculate_molar_mass", {"formula": "H2O"}, {"molar_mass_g_per_mol": 18.015}),
        ("calculate_molar_mass", {"formula": "C6H12O6"},
         {"molar_mass_g_per_mol": 180.156, "atoms": {"C": 6, "H": 12, "O": 6}}),
        ("calculate_molar_mass", {"formula": "Ca(OH)2"},
         {"molar_mass_g_per_mol": 74.092, "atoms": {"Ca": 1, "O": 2, "H": 2}}),
        ("convert_currency", {"amount": 100, "from_currency": "usd", "to_currency": "EUR"},
         {"converted_amount": 92.0}),
        ("convert_currency", {"amount": 100, "from_currency": "EUR", "to_currency": "GBP"},
         {"converted_amount": 85.87}),
        ("get_currency_info", {"currency": "JPY"}, {"reference_units_per_usd": 150.0}),
    ],
    "productivity": [
        ("list_events", {"date": "2026-03-03"},
         {"events": [{"id": "evt-3", "title": "Quarterly review", "start": "2026-03-03T10:00",
                      "end": "2026-03-03T12:00", "location": "Board room",
                      "attendees": ["ana", "sam"]}]}),
        ("create_event", {"title": "Sync", "start": "2026-03-02T09:10",
                          "end": "2026-03-02T09:30"}, {"conflicts_with": ["evt-1"]}),
        ("find_free_slots", {"date": "2026-03-02", "duration_minutes": 60},
         {"free_slots": [{"start": "2026-03-02T09:15", "end": "2026-03-02T14:00"},
                         {"start": "2026-03-02T15:00", "end": "2026-03-02T17:00"}]}),
        ("add_todo", {"title": "Pay rent", "due_date": "2026-03-01", "priority": "high"},
         {"todo": {"id": "todo-4", "done": False}}),
        ("complete_todo", {"todo_id": "todo-1"}, {"todo": {"id": "todo-1", "done": True}}),
        ("set_reminder", {"message": "Stretch", "remind_at": "2026-03-02T16:00"},
         {"reminder": {"id": "rem-2", "remind_at": "2026-03-02T16:00"}}),
        ("list_reminders", {"date": "2026-03-02"},
         {"reminders": [{"id": "rem-1", "message": "Call the bank",
                         "remind_at": "2026-03-02T11:00"}]}),
        ("list_todos", {"status": "all", "due_before": "2026-03-05"},
         {"count": 1, "todos": [{"id": "todo-1", "title": "Send invoice",
                                 "due_date": "2026-03-02", "priority": "high", "done": False}]}),
        ("delete_event", {"event_id": "evt-2"}, {"deleted": "evt-2", "title": "Dentist"}),
    ],
}

ERRORS = [
    ("evaluate_expression", {"expression": "__import__('os').system('ls')"}, "unsupported"),
    ("evaluate_expression", {"expression": "1 / 0"}, "division by zero"),
    ("evaluate_expression", {"expression": "9 ** 9 ** 9"}, "exponent"),
    ("factorial", {"n": 171}, "between 0 and 170"),
    ("solve_quadratic", {"a": 0, "b": 1, "c": 1}, "a must not be 0"),
    ("correlation", {"x": [1, 2, 3], "y": [1, 2]}, "same length"),
    ("percentile", {"values": [1, 2], "q": 150}, "between 0 and 100"),
    ("describe_data", {"values": []}, "at least 1"),
    ("convert_units", {"value": 1, "from_unit": "km", "to_unit": "kg"}, "cannot convert length"),
    ("convert_units", {"value": 1, "from_unit": "furlong", "to_unit": "m"}, "unknown unit"),
    ("convert_temperature", {"value": -300, "from_unit": "C", "to_unit": "K"}, "absolute zero"),
    ("calculate_bmi", {"weight_kg": 70, "height_m": 175}, "metres"),
    ("days_between", {"start_date": "2024-13-01", "end_date": "2024-01-01"}, "ISO date"),
    ("convert_timezone", {"datetime_str": "2024-01-01T10:00", "from_timezone": "Mars/Base",
                          "to_timezone": "UTC"}, "IANA time zone"),
    ("calculate_age", {"birth_date": "2030-01-01", "on_date": "2026-01-01"}, "before"),
    ("count_occurrences", {"text": "abc", "substring": ""}, "must not be empty"),
    ("base64_decode", {"encoded": "@@@"}, "not valid Base64"),
    ("loan_payment", {"principal": 1000, "annual_rate": 5, "years": 1}, "decimal rate"),
    ("break_even_point", {"fixed_costs": 10, "price_per_unit": 5,
                          "variable_cost_per_unit": 6}, "must exceed"),
    ("internal_rate_of_return", {"cash_flows": [100, 200]}, "negative and one positive"),
    ("get_city_coordinates", {"city": "Atlantis"}, "unknown city"),
    ("haversine_distance", {"latitude1": 100, "longitude1": 0, "latitude2": 0,
                            "longitude2": 0}, "latitude"),
    ("get_country_info", {"country": "Narnia"}, "unknown country"),
    ("calculate_molar_mass", {"formula": "Xx2"}, "unknown element symbol"),
    ("calculate_molar_mass", {"formula": "Ca(OH"}, "not a valid chemical formula"),
    ("convert_currency", {"amount": 1, "from_currency": "ABC", "to_currency": "USD"},
     "no reference rate"),
    ("complete_todo", {"todo_id": "todo-3"}, "already done"),
    ("delete_event", {"event_id": "evt-99"}, "no event"),
    ("create_event", {"title": "x", "start": "2026-03-02T10:00", "end": "2026-03-02T09:00"},
     "end must be after start"),
]


@pytest.mark.parametrize("category, name, arguments, expected", [
    (cat, name, args, exp) for cat, rows in CASES.items() for name, args, exp in rows])
def test_known_answers(registry, category, name, arguments, expected):
    assert registry.category(name) == category
    assert registry.call(name, arguments) == approx(expected)


@pytest.mark.parametrize("name, arguments, message", ERRORS)
def test_bad_values_raise_a_clear_value_error(registry, name, arguments, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        registry.call(name, arguments)


def test_every_tool_has_a_known_answer_or_error_case(registry):
    covered = {n for rows in CASES.values() for n, _, _ in rows} | {n for n, _, _ in ERRORS}
    covered |= {"distance_between_cities", "cities_within_radius"}  # tested below
    assert set(registry.names()) - covered == set()


def test_distances_between_cities_are_plausible(registry):
    paris_berlin = registry.call("distance_between_cities",
                                 {"origin": "Paris", "destination": "Berlin"})["distance"]
    london_ny = registry.call("distance_between_cities",
                              {"origin": "London", "destination": "New York", "unit": "mi"})
    assert 870 < paris_berlin < 885  # published great-circle distance ~878 km
    assert 3440 < london_ny["distance"] < 3480  # ~3459 mi
    near_paris = registry.call("cities_within_radius",
                               {"latitude": 48.8566, "longitude": 2.3522, "radius_km": 400})
    names = [c["city"] for c in near_paris["cities"]]
    assert names[0] == "Paris" and "Brussels" in names and "London" in names
    assert "Berlin" not in names


def test_irr_and_amortization_agree_with_their_definitions(registry):
    flows = [-1000, 500, 500, 500]
    irr = registry.call("internal_rate_of_return", {"cash_flows": flows})["irr"]
    assert abs(registry.call("net_present_value", {"rate": irr, "cash_flows": flows})["npv"]) \
        < 0.01
    rows = registry.call("amortization_schedule", {"principal": 1000, "annual_rate": 0.12,
                                                   "years": 1, "max_rows": 12})["rows"]
    assert rows[0] == {"payment_number": 1, "payment": 88.85, "interest": 10.0,
                       "principal": 78.85, "balance": 921.15}
    assert rows[-1]["balance"] == 0.0


def test_dates_never_depend_on_today(registry):
    # Same answer whatever day the test runs; no tool takes "now" implicitly.
    for spec in registry.specs():
        assert "now" not in spec.function.parameters["properties"]
    first = registry.call("calculate_age", {"birth_date": "2000-02-29", "on_date": "2025-02-28"})
    assert first == {"years": 25, "days_since_birthday": 0}


def test_in_process_state_persists_until_reset(registry):
    created = registry.call("create_event", {"title": "Lunch", "start": "2026-03-04T12:00",
                                             "end": "2026-03-04T13:00"})
    assert created["event"]["id"] == "evt-4"
    assert [e["title"] for e in registry.call("list_events", {"date": "2026-03-04"})["events"]] \
        == ["Lunch"]
    open_todos = registry.call("list_todos", {})["todos"]
    assert [t["id"] for t in open_todos] == ["todo-1", "todo-2"]
    reset_tool_state()
    assert registry.call("list_events", {"date": "2026-03-04"})["events"] == []


def test_schema_violations_are_bad_arguments_not_tool_errors(registry):
    with pytest.raises(BadArgumentsError, match="not one of"):
        registry.call("convert_temperature", {"value": 1, "from_unit": "X", "to_unit": "C"})
    with pytest.raises(BadArgumentsError, match="unexpected argument 'colour'"):
        registry.call("is_prime", {"n": 5, "colour": "red"})
    # An explicit null for an optional parameter means "not given".
    assert registry.call("get_city_coordinates", {"city": "Oslo", "country": None})["city"] \
        == "Oslo"
