"""``--model X`` / ``model.name_or_path: X`` -> a folder ``from_pretrained`` loads offline.

lamstudio runs offline by default: a name that is neither registered nor a local path is
refused at once (transformers would otherwise retry the hub for ~50 s before failing). A hub
id is passed through only when the user allowed downloads: ``allow_download=True``
(``--allow-download``) or their own ``HF_HUB_OFFLINE=0``.
"""

from __future__ import annotations

import os
from pathlib import Path

from lamstudio.models._errors import ModelError
from lamstudio.models._manifest import check_files
from lamstudio.models._prepare import damaged, prepare, prepare_gguf
from lamstudio.models._provenance import prepare_command, read_provenance
from lamstudio.models._registry import REGISTRY

_FALSE = {"0", "false", "no", "off"}


def hub_allowed(allow_download: bool = False) -> bool:
    return allow_download or os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _FALSE


def resolve_model(name_or_path: str | os.PathLike[str], allow_download: bool = False,
                  progress: bool = True) -> str:
    """A registered name (prepared on first use), a local folder, a ``.gguf`` file
    (prepared into the cache), or - with downloads allowed - a hub id."""
    name = os.fspath(name_or_path)
    if name in REGISTRY:
        return str(prepare(name, progress=progress))
    path = Path(name).expanduser()
    if path.is_dir():
        _check_if_prepared(path)
        return str(path)
    if path.is_file():
        if path.suffix.lower() == ".gguf":
            return str(prepare_gguf(path, progress=progress))
        raise ModelError(f"{name}: a file, not a model folder (expected a folder with "
                         "config.json, a .gguf file or a registered name)")
    if hub_allowed(allow_download):
        os.environ["HF_HUB_OFFLINE"] = "0"
        return name
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    raise ModelError(f"no such model folder or registered name: {name} (registered: "
                     f"{', '.join(REGISTRY)}; a hub id needs --allow-download)")


def _check_if_prepared(folder: Path) -> None:
    """A prepared folder given by its path is checked like one given by name."""
    prov = read_provenance(folder)
    if prov is not None:
        problem = check_files(folder, prov)
        if problem:
            raise damaged(folder, problem, prepare_command(prov))
