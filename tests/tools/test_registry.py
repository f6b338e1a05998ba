"""``ToolRegistry`` loads tools from files, dotted modules and entry points, and checks
arguments against each tool's schema before an in-process call."""

from __future__ import annotations

import sys
import textwrap

import pytest

from lamstudio.tools import (
    BadArgumentsError,
    ToolDefinitionError,
    ToolRegistry,
    UnknownToolError,
    tool,
)

USER_MODULE = '''
from lamstudio.tools import tool

CATEGORY = "weather"


@tool
def get_weather(city: str, unit: str = "C") -> dict:
    """Current weather for a city (canned).

    Args:
        city: City name.
        unit: C or F.
    """
    return {"city": city, "temp": 11 if unit == "C" else 52}


def helper(x):
    return x
'''


@pytest.fixture
def user_file(tmp_path):
    path = tmp_path / "my_tools.py"
    path.write_text(USER_MODULE)
    return path


def test_from_module_file_registers_every_tool_and_nothing_else(user_file):
    registry = ToolRegistry.from_module(str(user_file))
    assert registry.names() == ["get_weather"]
    assert registry.categories() == {"weather": ["get_weather"]}
    assert registry.call("get_weather", {"city": "Oslo"}) == {"city": "Oslo", "temp": 11}
    assert registry.sources == [str(user_file)]
    # Loading the same file again reuses the module instead of importing it twice.
    assert ToolRegistry.from_module(user_file).get("get_weather") is registry.get("get_weather")


def test_from_dotted_module_and_package(tmp_path, monkeypatch):
    pkg = tmp_path / "acme_tools"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "weather.py").write_text(USER_MODULE)
    (pkg / "maths.py").write_text(textwrap.dedent('''
        from lamstudio.tools import tool

        @tool
        def double(x: int) -> int:
            """Double a number.

            Args:
                x: The number.
            """
            return 2 * x

        TOOLS = [double]
        '''))
    (pkg / "_private.py").write_text("raise RuntimeError('private modules are skipped')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    whole = ToolRegistry.from_module("acme_tools")
    assert sorted(whole.names()) == ["double", "get_weather"]
    assert ToolRegistry.from_module("acme_tools.maths").call("double", {"x": 4}) == 8
    for name in [m for m in sys.modules if m.startswith("acme_tools")]:
        monkeypatch.delitem(sys.modules, name)


def test_from_entry_points_uses_installed_metadata(tmp_path, monkeypatch, user_file):
    dist = tmp_path / "acme_weather-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-weather\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[lamstudio.tools]\nweather = my_tools\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "my_tools", raising=False)
    registry = ToolRegistry.from_entry_points()
    assert "get_weather" in registry
    assert ToolRegistry.from_entry_points("no.such.group").names() == []


def test_duplicate_names_and_unknown_tools():
    @tool
    def ping() -> str:
        """Answer pong."""
        return "pong"

    registry = ToolRegistry([ping])
    registry.register(ping)  # the same function again is fine

    @tool(name="ping")
    def other() -> str:
        """Another ping."""
        return "?"

    with pytest.raises(ToolDefinitionError, match="registered twice"):
        registry.register(other)
    registry.register(other, replace=True)
    assert registry.call("ping") == "?"
    with pytest.raises(UnknownToolError, match="unknown tool 'pong'"):
        registry.get("pong")


def test_plain_typed_functions_are_decorated_on_registration():
    def add(a: int, b: int = 0) -> int:
        """Add two integers.

        Args:
            a: First.
            b: Second.
        """
        return a + b

    registry = ToolRegistry([add])
    assert registry.spec("add").function.parameters["required"] == ["a"]
    assert registry.call("add", {"a": 2, "b": 3}) == 5


def test_check_arguments_explains_every_problem(user_file):
    registry = ToolRegistry.from_module(user_file)
    assert registry.check_arguments("get_weather", {"city": "Rome"}) == []
    problems = registry.check_arguments("get_weather", {"city": 5, "wind": True})
    assert problems == ["argument 'city': 5 is not of type 'string'",
                        "unexpected argument 'wind'"]
    assert registry.check_arguments("get_weather", {}) == ["'city' is a required property"]
    assert registry.check_arguments("get_weather", ["Rome"]) == [
        "arguments must be a JSON object, got list"]
    with pytest.raises(BadArgumentsError, match="get_weather: 'city' is a required"):
        registry.call("get_weather", {})


def test_missing_module_is_a_clear_error(tmp_path):
    with pytest.raises(ToolDefinitionError, match="not found"):
        ToolRegistry.from_module(str(tmp_path / "nope.py"))
    with pytest.raises(ToolDefinitionError, match="cannot import tool module"):
        ToolRegistry.from_module("lamstudio_no_such_module")


PLAIN_MODULE = '''
"""Tools written as plain functions: no decorator, no TOOLS list."""
from math import sqrt  # imported, not defined here: not a tool
from typing import Literal


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: First addend.
        b: Second addend.
    """
    return a + b


def convert(value: float, unit: Literal["km", "mi"] = "km") -> float:
    """Convert a distance.

    Args:
        value: The distance.
        unit: Unit of the result.
    """
    return value if unit == "km" else value / 1.609344


def _helper(x):
    return x


class Store:
    pass
'''


def test_a_module_of_plain_functions_offers_its_public_functions(tmp_path):
    path = tmp_path / "plain_tools.py"
    path.write_text(PLAIN_MODULE)
    registry = ToolRegistry.from_module(path)
    assert registry.names() == ["add", "convert"]
    params = registry.spec("convert").function.parameters
    assert params["properties"]["unit"] == {"type": "string", "enum": ["km", "mi"],
                                            "description": "Unit of the result.",
                                            "default": "km"}
    assert registry.spec("add").function.description == "Add two integers."
    assert registry.call("add", {"a": 2, "b": 3}) == 5


def test_a_plain_function_that_cannot_be_a_tool_is_a_clear_error(tmp_path):
    path = tmp_path / "untyped_tools.py"
    path.write_text(PLAIN_MODULE + "\n\ndef lookup(key):\n    return key\n")
    with pytest.raises(ToolDefinitionError) as err:
        ToolRegistry.from_module(path)
    message = str(err.value)
    assert "untyped_tools.py" in message and "'lookup'" in message
    assert "@tool" in message and "underscore" in message


def test_a_module_without_any_tool_is_a_clear_error(tmp_path):
    path = tmp_path / "empty_tools.py"
    path.write_text("from os import path\nLIMIT = 3\n")
    with pytest.raises(ToolDefinitionError, match="empty_tools.py.*no tools"):
        ToolRegistry.from_module(path)
