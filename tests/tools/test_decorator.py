"""``@tool`` derives an OpenAI function spec from type hints and a Google-style docstring."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal, Optional

import pytest
from jsonschema import Draft202012Validator

from lamstudio.schema import ToolSpec
from lamstudio.tools import ToolDefinitionError, is_tool, parse_docstring, tool


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@tool
def book_flight(origin: str, destination: str, passengers: int = 1,
                cabin: Literal["economy", "business"] = "economy",
                max_price: Optional[float] = None, flexible: bool = False,  # noqa: UP045
                stops: list[str] | None = None, extras: dict[str, int] | None = None) -> dict:
    """Book a flight between two airports.

    Searches the cheapest fare and reserves it.

    Args:
        origin: IATA code of the departure airport,
            e.g. "CDG".
        destination (str): IATA code of the arrival airport.
        passengers: Number of travellers.
        cabin: Cabin class.
        max_price: Highest acceptable fare in EUR.
        flexible: Whether dates may move by a day.
        stops: Airports to stop at.
        extras: Extra items and their counts.

    Returns:
        The booking.
    """
    return {}


def test_spec_is_a_toolspec_with_name_and_description():
    assert is_tool(book_flight)
    assert isinstance(book_flight.spec, ToolSpec)
    fn = book_flight.spec.function
    assert fn.name == "book_flight"
    assert fn.description == ("Book a flight between two airports. "
                              "Searches the cheapest fare and reserves it.")
    assert book_flight.category == "test_decorator"  # module name when no CATEGORY


def test_parameters_follow_hints_defaults_and_docstring():
    params = book_flight.spec.function.parameters
    Draft202012Validator.check_schema(params)
    props = params["properties"]
    assert params["required"] == ["origin", "destination"]
    assert props["origin"] == {"type": "string",
                               "description": 'IATA code of the departure airport, e.g. "CDG".'}
    assert props["destination"]["description"] == "IATA code of the arrival airport."
    assert props["passengers"] == {"type": "integer", "description": "Number of travellers.",
                                   "default": 1}
    assert props["cabin"]["enum"] == ["economy", "business"]
    assert props["cabin"]["type"] == "string" and props["cabin"]["default"] == "economy"
    assert props["max_price"]["type"] == "number" and "default" not in props["max_price"]
    assert props["flexible"]["type"] == "boolean"
    assert props["stops"]["type"] == "array" and props["stops"]["items"] == {"type": "string"}
    assert props["extras"]["additionalProperties"] == {"type": "integer"}


def test_options_annotated_descriptions_and_enums():
    @tool(name="paint", category="art", description="Paint a wall.")
    def _paint(colour: Colour, coats: Annotated[int, "How many coats"] = 2,
               note: Any = None) -> str:
        return ""

    fn = _paint.spec.function
    assert (fn.name, fn.description, _paint.category) == ("paint", "Paint a wall.", "art")
    props = fn.parameters["properties"]
    assert props["colour"] == {"type": "string", "enum": ["red", "blue"]}
    assert props["coats"]["description"] == "How many coats"
    assert fn.parameters["required"] == ["colour"]
    assert _paint(Colour.RED) == ""  # the function itself is unchanged


def test_explicit_parameters_replace_the_derived_schema():
    schema = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}

    @tool(parameters=schema)
    def search(**kwargs: Any) -> list:
        """Search the catalogue."""
        return []

    assert search.spec.function.parameters == schema


@pytest.mark.parametrize("make, message", [
    (lambda: tool(name="t", parameters={"type": "object",
                                        "properties": {"a": {"type": "nope"}}})(lambda: None),
     "not valid JSON Schema"),
    (lambda: tool(name="t", parameters={"type": "array"})(lambda: None), "type 'object'"),
    (lambda: tool(name="bad name")(lambda: None), "identifier"),
])
def test_invalid_definitions_are_refused(make, message):
    with pytest.raises(ToolDefinitionError, match=message):
        make()


def test_unsupported_signatures_are_refused():
    def untyped(x):  # noqa: ANN001
        return x

    def variadic(*args: int) -> None:
        return None

    def odd(x: complex) -> None:
        return None

    for fn, message in ((untyped, "no type hint"), (variadic, r"\*args"),
                        (odd, "no JSON Schema mapping")):
        with pytest.raises(ToolDefinitionError, match=message):
            tool(fn)


def test_docstring_parser_handles_sections_and_continuations():
    summary, args = parse_docstring("""Do a thing.

    Args:
        a (int): First
            and more.
        b: Second.

    Raises:
        ValueError: never listed as an argument.
    """.replace("\n    ", "\n"))
    assert summary == "Do a thing."
    assert args == {"a": "First and more.", "b": "Second."}


def test_containers_nested_enums_and_values_a_tool_would_not_receive():
    import datetime

    from lamstudio.tools import type_to_schema

    assert type_to_schema(tuple[int, str])[0] == {
        "type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}],
        "minItems": 2, "maxItems": 2}
    assert type_to_schema(set[str])[0] == {"type": "array", "items": {"type": "string"},
                                            "uniqueItems": True}
    # pydantic puts enums in $defs; a tool's schema carries them inline, without titles.
    assert type_to_schema(list[Colour] | None) == (
        {"type": "array", "items": {"type": "string", "enum": ["red", "blue"]}}, True)
    assert type_to_schema(list[int | None])[0]["items"] == {
        "anyOf": [{"type": "integer"}, {"type": "null"}]}
    with pytest.raises(ToolDefinitionError, match="plain JSON values"):
        type_to_schema(datetime.date, where="f.day")  # pydantic could, but a str arrives
