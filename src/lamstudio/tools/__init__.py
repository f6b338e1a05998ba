"""Executable tools: the ``@tool`` decorator, ``ToolRegistry``, the built-in library and the
``Sandbox`` that runs untrusted calls in isolated worker processes.

>>> from lamstudio.tools import builtin_registry, Sandbox
>>> registry = builtin_registry()                  # in-process, trusted
>>> registry.call("loan_payment", {"principal": 200000, "annual_rate": 0.05, "years": 30})
>>> with Sandbox() as box:                          # isolated workers
...     box.call("distance_between_cities", {"origin": "Paris", "destination": "Berlin"})
"""

from lamstudio.tools._decorator import (
    ToolDefinitionError,
    build_spec,
    check_parameters_schema,
    is_tool,
    parse_docstring,
    tool,
    type_to_schema,
)
from lamstudio.tools._dispatch import Call, dispatch, parse_call, result_text, state_hash
from lamstudio.tools._registry import (
    BUILTIN_MODULE,
    BadArgumentsError,
    ToolRegistry,
    UnknownToolError,
    builtin_registry,
    collect_tools,
    load_module,
    register_state_reset,
    reset_tool_state,
)
from lamstudio.tools._sandbox import (
    DEFAULT_MODULES,
    ERROR_CODES,
    CallResult,
    Sandbox,
    SandboxError,
)

__all__ = [
    "Call", "dispatch", "parse_call", "result_text", "state_hash",
    "BUILTIN_MODULE", "DEFAULT_MODULES", "ERROR_CODES", "BadArgumentsError", "CallResult",
    "Sandbox", "SandboxError", "ToolDefinitionError", "ToolRegistry", "UnknownToolError",
    "build_spec", "builtin_registry", "check_parameters_schema", "collect_tools", "is_tool",
    "load_module", "parse_docstring", "register_state_reset", "reset_tool_state", "tool",
    "type_to_schema",
]
