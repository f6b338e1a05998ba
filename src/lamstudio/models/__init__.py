"""Base models by name: those installed packages ship (GGUF -> HF folder), HF folders, hub ids.

``resolve_model(x)`` is what every ``--model`` / ``model.name_or_path`` goes through: a
registered name is prepared once (dequantized, saved as a normal HF folder under
``$LAMSTUDIO_HOME/models``; on every later use its GGUF is hash-checked and its files are
checked against the record made when it was prepared), a local folder is itself (checked
the same way if it is a prepared one), a ``.gguf`` file is prepared like a registered one,
and hub ids need ``allow_download``. A registered GGUF too large for one wheel comes in
parts across several packages (``SplitModel``), joined once into the cache and kept there.
Nothing here imports torch until a model is actually converted.
"""

from lamstudio.models._errors import ModelError
from lamstudio.models._hash import file_sha256
from lamstudio.models._home import HOME_ENV, lamstudio_home, models_home
from lamstudio.models._listing import ModelStatus, folder_size, model_status
from lamstudio.models._parts import Part, SplitModel, numbered_parts
from lamstudio.models._prepare import prepare, prepare_gguf
from lamstudio.models._provenance import PROVENANCE, read_provenance
from lamstudio.models._registry import (
    REGISTRY,
    PackagedModel,
    RegisteredModel,
    get_entry,
    registered,
)
from lamstudio.models._resolve import hub_allowed, resolve_model

__all__ = [
    "HOME_ENV", "PROVENANCE", "REGISTRY", "ModelError", "ModelStatus", "PackagedModel", "Part",
    "RegisteredModel", "SplitModel", "file_sha256", "folder_size", "get_entry", "hub_allowed",
    "lamstudio_home", "model_status", "models_home", "prepare", "prepare_gguf",
    "numbered_parts", "read_provenance", "registered", "resolve_model",
]
