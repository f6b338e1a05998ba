"""``ToolRegistry``: named tools with their specs, loaded from modules or entry points.

``call`` runs a tool in this process: use it for trusted code only. Untrusted or generated
tools go through :class:`lamstudio.tools.Sandbox`, which loads the same modules in workers.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import pkgutil
import sys
from collections.abc import Callable, Iterable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from jsonschema import Draft202012Validator

from lamstudio.schema import ToolSpec
from lamstudio.tools._decorator import ToolDefinitionError, is_tool, tool

BUILTIN_MODULE = "lamstudio.tools.builtin"
_STATE_RESETS: list[Callable[[], None]] = []


class UnknownToolError(KeyError):
    """No tool of that name is registered."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown tool"


class BadArgumentsError(ValueError):
    """The arguments do not match the tool's parameter schema."""


def register_state_reset(fn: Callable[[], None]) -> Callable[[], None]:
    """Register a hook that puts a stateful tool module back to its initial state."""
    _STATE_RESETS.append(fn)
    return fn


def reset_tool_state() -> None:
    """Run every state-reset hook (the sandbox does this before each call by default)."""
    for fn in _STATE_RESETS:
        fn()


class ToolRegistry:
    """Tools by name. Names are unique: registering a second tool under a taken name fails."""

    def __init__(self, tools: Iterable[Callable[..., Any]] = ()) -> None:
        self._tools: dict[str, Callable[..., Any]] = {}
        self._validators: dict[str, Draft202012Validator] = {}
        self.sources: list[str] = []  # modules the tools came from (what a sandbox imports)
        for fn in tools:
            self.register(fn)

    # -- building -----------------------------------------------------------------------
    def register(self, fn: Callable[..., Any], *, replace: bool = False) -> Callable[..., Any]:
        """Add ``fn`` (decorated with ``@tool``, or plain and typed: it is decorated here)."""
        if not is_tool(fn):
            fn = tool(fn)
        name = fn.spec.function.name
        if name in self._tools and self._tools[name] is not fn and not replace:
            raise ToolDefinitionError(f"tool name {name!r} is registered twice")
        self._tools[name] = fn
        self._validators.pop(name, None)
        return fn

    def update(self, other: ToolRegistry) -> ToolRegistry:
        for fn in other._tools.values():
            self.register(fn)
        self.sources.extend(s for s in other.sources if s not in self.sources)
        return self

    @classmethod
    def from_module(cls, ref: str | Path) -> ToolRegistry:
        """The tools of a module given as a file path or a dotted name (see
        :func:`collect_tools`); a module that offers none is an error."""
        module = load_module(ref)
        tools = collect_tools(module)
        if not tools:
            raise ToolDefinitionError(
                f"tool module {ref}: no tools found. Define public functions with type hints "
                f"and a docstring, mark them with @tool, or list them in TOOLS")
        registry = cls(tools)
        registry.sources.append(str(ref))
        return registry

    @classmethod
    def from_modules(cls, refs: Iterable[str | Path]) -> ToolRegistry:
        registry = cls()
        for ref in refs:
            registry.update(cls.from_module(ref))
        return registry

    @classmethod
    def from_entry_points(cls, group: str = "lamstudio.tools") -> ToolRegistry:
        """Tools published by installed packages: each entry point names a module, a tool,
        a list of tools or a registry."""
        registry = cls()
        for ep in entry_points(group=group):
            obj = ep.load()
            if isinstance(obj, ModuleType):
                registry.update(cls.from_module(obj.__name__))
            elif isinstance(obj, ToolRegistry):
                registry.update(obj)
            elif callable(obj):
                registry.register(obj)
                registry.sources.append(obj.__module__)
            else:
                for fn in obj:
                    registry.register(fn)
        return registry

    # -- reading ------------------------------------------------------------------------
    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def __iter__(self) -> Iterator[str]:
        return iter(self._tools)

    def get(self, name: str) -> Callable[..., Any]:
        try:
            return self._tools[name]
        except KeyError:
            raise UnknownToolError(f"unknown tool {name!r}") from None

    def names(self) -> list[str]:
        return list(self._tools)

    def spec(self, name: str) -> ToolSpec:
        return self.get(name).spec

    def specs(self, names: Iterable[str] | None = None) -> list[ToolSpec]:
        return [self.get(n).spec for n in (self._tools if names is None else names)]

    def category(self, name: str) -> str:
        return self.get(name).category

    def categories(self) -> dict[str, list[str]]:
        """``{category: [tool names]}`` in registration order."""
        out: dict[str, list[str]] = {}
        for name, fn in self._tools.items():
            out.setdefault(fn.category, []).append(name)
        return out

    # -- calling ------------------------------------------------------------------------
    def check_arguments(self, name: str, arguments: Any) -> list[str]:
        """Why ``arguments`` do not fit the tool's schema (empty when they do)."""
        spec = self.spec(name).function.parameters
        if not isinstance(arguments, dict):
            return [f"arguments must be a JSON object, got {type(arguments).__name__}"]
        # An explicit null for an optional parameter whose default is None means "not
        # given" (models send it often); the schema itself stays free of nulls.
        arguments = {k: v for k, v in arguments.items()
                     if not (v is None and _defaults_to_none(self.get(name), k))}
        validator = self._validators.get(name)
        if validator is None:
            validator = self._validators[name] = Draft202012Validator(spec)
        problems = [_describe(err) for err in validator.iter_errors(arguments)]
        known = spec.get("properties", {})
        if "additionalProperties" not in spec and not _takes_kwargs(self.get(name)):
            problems += [f"unexpected argument {key!r}" for key in arguments if key not in known]
        return problems

    def call(self, name: str, arguments: dict[str, Any] | None = None) -> Any:
        """Run a tool in this process after checking its arguments (trusted code only)."""
        fn = self.get(name)
        arguments = {} if arguments is None else arguments
        problems = self.check_arguments(name, arguments)
        if problems:
            raise BadArgumentsError(f"{name}: " + "; ".join(problems))
        return fn(**arguments)


def builtin_registry() -> ToolRegistry:
    """The built-in library (math, units, dates, text, finance, geography, ...)."""
    return ToolRegistry.from_module(BUILTIN_MODULE)


def load_module(ref: str | Path | ModuleType) -> ModuleType:
    """Import a module from a ``.py`` path (or package directory) or a dotted name."""
    if isinstance(ref, ModuleType):
        return ref
    text = str(ref)
    path = Path(text)
    if text.endswith(".py") or path.is_dir() or "/" in text:
        return _import_path(path)
    try:
        return importlib.import_module(text)
    except ModuleNotFoundError as exc:
        if exc.name and text.startswith(exc.name):
            raise ToolDefinitionError(f"cannot import tool module {text!r}: {exc}") from None
        raise


def _import_path(path: Path) -> ModuleType:
    path = path.resolve()
    if path.is_dir():
        path = path / "__init__.py"
    if not path.is_file():
        raise ToolDefinitionError(f"tool module file not found: {path}")
    # A stable, unique module name per file: re-loading the same file reuses the module.
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    name = f"lamstudio_user_tools.{path.parent.name if path.name == '__init__.py' else path.stem}"
    name = f"{name}_{digest}".replace("-", "_")
    if name in sys.modules:
        return sys.modules[name]
    locations = [str(path.parent)] if path.name == "__init__.py" else None
    spec = importlib.util.spec_from_file_location(name, path,
                                                  submodule_search_locations=locations)
    if spec is None or spec.loader is None:
        raise ToolDefinitionError(f"cannot import tool module from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def collect_tools(module: ModuleType) -> list[Callable[..., Any]]:
    """The tools a module offers, each once: its ``TOOLS`` list, else its ``@tool`` globals
    (and, for a package, its submodules'), else every public function defined in it (not
    imported into it), made a tool from its hints and docstring as ``@tool`` would."""
    explicit = getattr(module, "TOOLS", None)
    found = list(explicit) if explicit is not None else [
        v for v in vars(module).values() if is_tool(v)]
    if explicit is None and hasattr(module, "__path__"):
        for info in pkgutil.iter_modules(module.__path__, module.__name__ + "."):
            if not info.name.rsplit(".", 1)[-1].startswith("_"):
                found += collect_tools(importlib.import_module(info.name))
    if explicit is None and not found:
        found = _plain_functions(module)
    unique: dict[int, Callable[..., Any]] = {}
    for fn in found:
        unique.setdefault(id(fn), fn)
    return list(unique.values())


def _plain_functions(module: ModuleType) -> list[Callable[..., Any]]:
    tools = []
    for name, value in vars(module).items():
        if name.startswith("_") or not inspect.isfunction(value) \
                or value.__module__ != module.__name__:
            continue
        try:
            tools.append(tool(value))
        except ToolDefinitionError as exc:
            where = getattr(module, "__file__", None) or module.__name__
            raise ToolDefinitionError(
                f"{where}: function {name!r} cannot be a tool ({exc}). A module without "
                f"@tool offers all its public functions as tools: give {name!r} type hints "
                f"(and a docstring), rename it with a leading underscore if it is a helper, "
                f"or mark the tools with @tool (or list them in TOOLS)") from None
    return tools


def _takes_kwargs(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind is p.VAR_KEYWORD for p in params)


def _defaults_to_none(fn: Callable[..., Any], param: str) -> bool:
    try:
        p = inspect.signature(fn).parameters.get(param)
    except (TypeError, ValueError):
        return False
    return p is not None and p.default is None


def _describe(err: Any) -> str:
    where = "/".join(str(p) for p in err.absolute_path)
    return f"argument {where!r}: {err.message}" if where else err.message
