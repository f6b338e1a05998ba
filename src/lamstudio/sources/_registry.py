"""The format registry: name -> module, imported only when used."""

from __future__ import annotations

import importlib
from types import ModuleType

# name -> module; a module is imported only when used.
FORMATS: dict[str, str] = {
    "lamstudio": "lamstudio.sources.lamstudio",
    "apigen": "lamstudio.sources.apigen",
    "openai": "lamstudio.sources.openai",
    "sharegpt": "lamstudio.sources.sharegpt",
    "actionstudio": "lamstudio.sources.actionstudio",
    "react": "lamstudio.sources.react",
    "bfcl": "lamstudio.sources.bfcl",
}


class UnknownFormat(KeyError, ValueError):
    """A format name ``FORMATS`` does not list (a ``ValueError`` too, so config validators
    report it with the key that holds it)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def get_format(name: str) -> ModuleType:
    """The module of a format, by name (``FORMATS`` lists them); :class:`UnknownFormat`
    names the choices."""
    if name not in FORMATS:
        raise UnknownFormat(f"unknown format {name!r}; choose one of: {', '.join(FORMATS)}")
    return importlib.import_module(FORMATS[name])
