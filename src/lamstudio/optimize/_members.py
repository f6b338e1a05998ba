"""A committee file (YAML): who plays, and who selects.

```yaml
members:                       # two or more, each a different agent
  - name: greedy               # unique; default member-N
    model: qwen2.5-coder-0.5b  # a local model name/path, or the served model's name
    base_url: http://127.0.0.1:8000/v1   # optional (alias: endpoint): else a local model
    engine: llamacpp           # local models: transformers (default) or llamacpp
    principles: best.json      # a list of strings, or a file (JSON list, {"principles":
                               # [...]} as RPO writes it, or one principle per line)
    temperature: 0.0
    seed: 1
    max_tokens: 512
selector:                      # optional: the LLM selector (agreement always runs)
  model: ...
  base_url: ...
```

Every problem is one ``CommitteeError`` naming the file and the field
(``committee.yaml: members[1].temperature: expected a number, got 'hot'``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class CommitteeError(ValueError):
    """A committee file that cannot be used; the message names the file and the field."""


@dataclass
class Member:
    name: str
    model: str
    base_url: str | None = None
    engine: str = "transformers"
    gguf: str | None = None
    api_key_env: str | None = "OPENAI_API_KEY"
    principles: tuple[str, ...] = ()
    temperature: float = 0.0
    seed: int | None = None
    max_tokens: int = 512

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        if self.seed is not None:
            out["seed"] = self.seed
        return out


@dataclass
class CommitteeConfig:
    members: list[Member]
    selector: Member | None = None  # the LLM selector's model (its principles are unused)
    path: str = ""


_FIELDS = {"name": str, "model": str, "base_url": str, "endpoint": str, "engine": str,
           "gguf": str, "api_key_env": str, "principles": (list, str),
           "temperature": (int, float), "seed": int, "max_tokens": int}


def load_committee(path: str | Path) -> CommitteeConfig:
    import yaml

    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CommitteeError(f"{p}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise CommitteeError(f"{p}: not valid YAML: {' '.join(str(exc).split())}") from None
    return committee_from(raw, p)


def committee_from(raw: Any, path: Path) -> CommitteeConfig:
    if not isinstance(raw, dict) or not isinstance(raw.get("members"), list):
        raise CommitteeError(f"{path}: members: expected a list of members")
    unknown = sorted(set(raw) - {"members", "selector"})
    if unknown:
        raise CommitteeError(f"{path}: {unknown[0]}: unknown key (expected members, selector)")
    members = [_member(m, f"members[{i}]", i, path) for i, m in enumerate(raw["members"])]
    if len(members) < 2:
        raise CommitteeError(f"{path}: members: a committee needs at least two members")
    names = [m.name for m in members]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise CommitteeError(f"{path}: members: the name {dup!r} is used twice")
    sel = raw.get("selector")
    selector = None if sel is None else _member(sel, "selector", 0, path, "selector")
    return CommitteeConfig(members, selector, str(path))


def _member(raw: Any, where: str, i: int, path: Path, default: str = "") -> Member:
    if not isinstance(raw, dict):
        raise CommitteeError(f"{path}: {where}: expected a mapping with at least 'model'")
    for key, value in raw.items():
        want = _FIELDS.get(key)
        if want is None:
            raise CommitteeError(f"{path}: {where}.{key}: unknown field (expected one of: "
                                 f"{', '.join(_FIELDS)})")
        if not isinstance(value, want) or isinstance(value, bool):
            names = "/".join(t.__name__ for t in (want if isinstance(want, tuple) else (want,)))
            raise CommitteeError(f"{path}: {where}.{key}: expected {names}, got {value!r}")
    if not str(raw.get("model") or "").strip():
        raise CommitteeError(f"{path}: {where}.model: required (the member's model)")
    kw = {k: v for k, v in raw.items() if k not in ("endpoint", "principles", "name")}
    kw["base_url"] = raw.get("base_url") or raw.get("endpoint")
    principles = _principles(raw.get("principles", []), f"{where}.principles", path)
    return Member(name=raw.get("name") or default or f"member-{i + 1}",
                  principles=principles, **kw)


def _principles(value: list[Any] | str, where: str, path: Path) -> tuple[str, ...]:
    """A list of strings, or a file next to the committee file (see the module doc)."""
    if isinstance(value, list):
        bad = next((v for v in value if not isinstance(v, str)), None)
        if bad is not None:
            raise CommitteeError(f"{path}: {where}: expected strings, got {bad!r}")
        return tuple(value)
    file = (path.parent / value).resolve()
    if file.suffix == ".json":  # what optimize rpo writes: the one reader of that format
        from lamstudio.optimize._rpo_principles import PrinciplesError, read_principles

        try:
            return read_principles(file)
        except PrinciplesError as exc:
            raise CommitteeError(f"{path}: {where}: {exc}") from None
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommitteeError(f"{path}: {where}: cannot read {file}: "
                             f"{getattr(exc, 'strerror', None) or exc}") from None
    lines = (re.sub(r"^\s*(?:[-*]|\d+[.)])\s*", "", ln).strip() for ln in text.splitlines())
    return tuple(ln for ln in lines if ln and not ln.startswith("#"))


def open_members(config: CommitteeConfig) -> tuple[dict[str, Any], Any | None]:
    """Backends for every member (by name) and for the selector (None without one); a
    member that names the same model and endpoint as another shares its backend."""
    from lamstudio.agent import open_backend

    cache: dict[tuple[Any, ...], Any] = {}

    def backend(m: Member) -> Any:
        key = (m.model, m.base_url, m.engine, m.gguf, m.api_key_env)
        if key not in cache:
            cache[key] = open_backend(m.model, m.base_url, api_key_env=m.api_key_env,
                                      engine=m.engine, gguf=m.gguf, max_tokens=m.max_tokens)
        return cache[key]

    members = {m.name: backend(m) for m in config.members}
    return members, backend(config.selector) if config.selector else None
