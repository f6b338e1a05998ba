"""The built-in tool library: deterministic, offline tools in several categories.

Every submodule is one category; ``ToolRegistry.from_module("lamstudio.tools.builtin")``
(or ``builtin_registry()``) registers all of them.
"""
