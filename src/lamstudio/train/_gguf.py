"""``export_gguf``: a model folder, registered name or training run -> GGUF files for llama.cpp.

The conversion is lamstudio's own, on the ``gguf`` package (llama.cpp's converter script is
not in any installed wheel, and nothing is downloaded at run time); the k-quants go through
llama.cpp's quantizer when ``llama-cpp-python`` is installed. A run is merged first (LoRA into
its base, in memory). The file carries what lamstudio needs to render and parse the same way
as in training: ``tokenizer.chat_template`` is the exact template lamstudio renders with, and
``lamstudio.template`` / ``lamstudio.call_style`` name it and its tool-call format.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lamstudio.train._errors import TrainError
from lamstudio.train._export import is_run, merge_run
from lamstudio.train._gguf_arch import Arch, arch_of
from lamstudio.train._gguf_types import LLAMA_CPP_TYPES, parse_types
from lamstudio.train._gguf_vocab import plan_vocab
from lamstudio.train._gguf_write import atomic_path, llama_cpp_quantize, write_file

__all__ = ["GgufFile", "export_gguf"]


@dataclass
class GgufFile:
    type: str
    path: Path
    size: int  # bytes
    seconds: float


@dataclass
class _Source:
    model: Any
    tokenizer: Any
    renderer: Any  # lamstudio.render.Renderer: the template and call format to carry
    arch: Arch
    name: str
    where: str  # what was exported, for the file's metadata
    gguf: Path | None  # the GGUF the model was prepared from, if any
    vocab: tuple[Callable[[Any], None], str] = (lambda writer: None, "")  # plan_vocab's


def export_gguf(source: str | os.PathLike[str], out_dir: str | os.PathLike[str],
                types: list[str], *, checkpoint: str | None = None, name: str | None = None,
                progress: bool = True) -> list[GgufFile]:
    """Write ``OUT/<name>-<type>.gguf`` for each type (``f32 f16 bf16 q8_0``; ``q4_k_m
    q4_k_s q5_k_m q6_k`` with llama.cpp's quantizer) and return them, in order.

    ``source``: a run directory (LoRA merged first; ``checkpoint`` picks one), a model
    folder, a registered name or a ``.gguf`` file. Raises ``TrainError`` with one line for
    an unknown type, an unsupported architecture or tokenizer, or a missing quantizer.
    """
    kinds = parse_types(types)
    out = Path(out_dir)
    with _step("loading the model" + (" and merging LoRA" if is_run(source) else ""),
               progress), _no_hf_bars():
        src = _load(source, checkpoint, name)
        src.vocab = plan_vocab(src.tokenizer, src.model.config.vocab_size, src.gguf)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, GgufFile] = {}
    for kind in kinds:
        target = out / f"{src.name}-{kind}.gguf"
        start = time.monotonic()
        if kind in LLAMA_CPP_TYPES:
            _quantized(src, target, kind, written, progress)
        else:
            with atomic_path(target) as tmp:
                _numpy_file(src, tmp, kind, progress)
        written[kind] = GgufFile(kind, target, target.stat().st_size,
                                 time.monotonic() - start)
    return [written[k] for k in kinds]


def _quantized(src: _Source, target: Path, kind: str, written: dict[str, GgufFile],
               progress: bool) -> None:
    """A k-quant from an f16 file: the one just written, or a temporary one (llama.cpp's
    own workflow: convert to f16, then quantize)."""
    f16 = written["f16"].path if "f16" in written else None
    scratch = None
    try:
        if f16 is None:
            scratch = f16 = target.parent / f".{target.stem}.f16-{os.getpid()}.partial"
            _numpy_file(src, scratch, "f16", progress)
        with atomic_path(target) as tmp, _step(f"quantizing to {kind} (llama.cpp)", progress):
            llama_cpp_quantize(f16, tmp, kind)
    finally:
        if scratch is not None:
            scratch.unlink(missing_ok=True)


def _numpy_file(src: _Source, path: Path, kind: str, progress: bool) -> None:
    from gguf import GGUFValueType

    write_vocab, origin = src.vocab

    def metadata(writer: Any) -> None:
        writer.add_name(src.name)
        write_vocab(writer)
        writer.add_chat_template(src.renderer.template)
        import lamstudio

        for key, value in (("lamstudio.version", lamstudio.__version__),
                           ("lamstudio.template", src.renderer.template_name),
                           ("lamstudio.call_style", src.renderer.call_style or ""),
                           ("lamstudio.source", src.where),
                           ("lamstudio.tokenizer", origin)):
            writer.add_key_value(key, value, GGUFValueType.STRING)

    with _bar(f"writing {kind}", progress) as tick:
        write_file(path, kind, src.model, src.arch, metadata, tick)


def _load(source: str | os.PathLike[str], checkpoint: str | None,
          name: str | None) -> _Source:
    from lamstudio.render import Renderer

    if is_run(source):
        run = Path(source)
        _check_arch(_run_model_folder(run, checkpoint), str(run))
        merged = merge_run(run, checkpoint)
        renderer = _run_renderer(merged.meta, merged.tokenizer)
        return _Source(merged.model, merged.tokenizer, renderer,
                       arch_of(merged.model.config, str(run)), _stem(name or run.name),
                       f"run {run.resolve()}", _prepared_from(Path(merged.base)))
    if checkpoint is not None:
        raise TrainError(f"{source}: --checkpoint needs a run directory (one with run.json)")
    folder = _resolve(source)
    _check_arch(folder, str(source))
    model, tokenizer = _load_folder(folder)
    path = Path(source)  # a folder keeps its whole name ("Qwen2.5-Coder-0.5B"), a file its stem
    label = name or (path.stem if path.is_file() else path.name if path.exists() else str(source))
    return _Source(model, tokenizer, Renderer(tokenizer), arch_of(model.config, str(source)),
                   _stem(label), str(source), _prepared_from(folder))


def _resolve(source: str | os.PathLike[str]) -> Path:
    from lamstudio.models import ModelError, resolve_model

    try:
        return Path(resolve_model(source, progress=False))
    except ModelError as exc:
        raise TrainError(str(exc)) from None


def _run_model_folder(run: Path, checkpoint: str | None) -> str:
    """The folder whose config says the architecture: the base for LoRA, else the model."""
    from lamstudio.train._export import _adapter_dir, _base, read_run

    meta = read_run(run)
    src = _adapter_dir(run, checkpoint)
    return _base(meta) if (src / "adapter_config.json").is_file() else str(src)


def _check_arch(folder: str | Path, where: str) -> None:
    """Refuse an unsupported architecture from its config, before loading any weights."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(str(folder))
    except (OSError, ValueError) as exc:
        raise TrainError(f"{where}: not a model folder ({exc})") from None
    arch_of(config, where)


def _load_folder(folder: Path) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(folder))
    return model.eval(), AutoTokenizer.from_pretrained(str(folder))


def _run_renderer(meta: dict[str, Any], tokenizer: Any) -> Any:
    """The renderer the run trained with (its ``data.template``)."""
    from lamstudio.train._config import TrainConfig
    from lamstudio.train._trainer import make_renderer

    try:
        cfg = TrainConfig.model_validate(meta["config"])
    except ValueError as exc:
        raise TrainError(f"run.json: its config no longer validates ({exc})") from None
    return make_renderer(cfg, tokenizer)


def _prepared_from(folder: Path) -> Path | None:
    """The GGUF a prepared folder was made from, if it is still there unchanged."""
    from lamstudio.models import ModelError, file_sha256, get_entry, read_provenance

    prov = read_provenance(folder)
    source = prov.get("source") if prov else None
    if not isinstance(source, dict):
        return None
    if source.get("kind") == "gguf":
        path: Path | None = Path(str(source.get("path", "")))
    else:
        try:
            path = get_entry(str(prov.get("name"))).installed_file()
        except ModelError:  # no longer registered: build the tokenizer keys instead
            return None
    if path is None or not path.is_file():
        return None
    return path if file_sha256(path) == source.get("sha256") else None


def _stem(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-.")[:80] or "model"


@contextlib.contextmanager
def _no_hf_bars() -> Iterator[None]:
    """Our status line replaces transformers' loading bars."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()


@contextlib.contextmanager
def _step(message: str, show: bool) -> Iterator[None]:
    if not show:
        yield
        return
    from rich.console import Console

    console = Console(file=sys.stderr)
    start = time.monotonic()
    with console.status(message):
        yield
    console.print(f"{message}: done in {time.monotonic() - start:.0f} s", soft_wrap=True)


@contextlib.contextmanager
def _bar(label: str, show: bool) -> Iterator[Callable[[int, int], None]]:
    if not show:
        yield lambda done, total: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(file=sys.stderr), transient=False) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
