"""A local transformers model as a ``lamstudio.llm.ChatBackend``.

The prompt is rendered with ``lamstudio.render.Renderer`` and the output parsed with
``lamstudio.render.parse_output``: the same template and parser as training and eval. An
output that does not parse into calls comes back as plain content (the parser's error is
kept in ``ChatResult.raw``), never as an exception.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from lamstudio.llm import ChatResult


class LocalBackend:
    """Greedy decoding by default; ``temperature`` > 0 samples. ``max_tokens`` caps a step."""

    def __init__(self, path: str, *, max_tokens: int = 256, device: str | None = None) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from lamstudio.render import Renderer

        self.model_name = self.model = str(path)
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.lm = AutoModelForCausalLM.from_pretrained(str(path)).eval()
        if device:
            self.lm.to(device)
        self.renderer = Renderer(self.tokenizer)
        self.max_tokens = max_tokens
        self.context = getattr(self.lm.config, "max_position_embeddings", 1 << 30)
        self._lock = threading.Lock()  # one generate at a time on one model
        self._torch = torch

    async def complete(self, messages: list[dict[str, Any]],
                       tools: list[dict[str, Any]] | None = None,
                       **params: Any) -> ChatResult:
        return await asyncio.to_thread(self._complete, messages, tools or [], params)

    def _complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
                  params: dict[str, Any]) -> ChatResult:
        from lamstudio.render import parse_output
        from lamstudio.schema import Trajectory

        system = "\n".join(m.get("content") or "" for m in messages if m["role"] == "system")
        chat = [m for m in messages if m["role"] != "system"]
        t = Trajectory(id="agent", system=system or None, tools=tools, messages=chat)
        ids = self.renderer.prompt_ids(t)
        room = self.context - len(ids)
        if room < 1:
            raise ValueError(f"prompt of {len(ids)} tokens exceeds the model's context "
                             f"({self.context})")
        new = min(int(params.get("max_tokens") or self.max_tokens), room)
        text, stopped, made = self._generate(ids, new, float(params.get("temperature") or 0.0),
                                       params.get("seed"))
        parsed = parse_output(text)
        calls = [{"id": f"call_{k}", "type": "function",
                  "function": {"name": c.name,
                               "arguments": json.dumps(c.arguments, ensure_ascii=False)}}
                 for k, c in enumerate(parsed.calls)]
        content = parsed.content if calls else (parsed.content or text)
        finish = "tool_calls" if calls else ("stop" if stopped else "length")
        return ChatResult(content=content or None, tool_calls=calls, finish_reason=finish,
                          model=self.model_name,
                          usage={"prompt_tokens": len(ids), "completion_tokens": made},
                          raw={"text": text, "parse_error": parsed.error_code})

    def _generate(self, ids: list[int], new: int, temperature: float,
                  seed: Any) -> tuple[str, bool, int]:
        torch = self._torch
        stops = self.renderer.stop_token_ids
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None \
            else stops[0]
        sample = temperature > 0
        with self._lock, torch.no_grad():
            if seed is not None:
                torch.manual_seed(int(seed))
            x = torch.tensor([ids], device=self.lm.device)
            out = self.lm.generate(input_ids=x, attention_mask=torch.ones_like(x),
                                   max_new_tokens=new, do_sample=sample,
                                   temperature=temperature if sample else None,
                                   top_p=None, top_k=None,
                                   eos_token_id=stops, pad_token_id=pad)
        row = out[0, len(ids):].tolist()
        cut = next((k for k, tok in enumerate(row) if tok in set(stops)), None)
        kept = row if cut is None else row[:cut]
        return self.renderer.decode(kept), cut is not None, len(kept)


def open_backend(model: str, base_url: str | None = None, *,
                 api_key_env: str | None = "OPENAI_API_KEY", max_tokens: int = 256,
                 timeout_s: float = 120.0) -> Any:
    """An OpenAI-compatible endpoint when ``base_url`` is given, else a local model
    (a folder, a ``.gguf`` or a registry name, through ``lamstudio.models``)."""
    if base_url:
        from lamstudio.llm import OpenAIBackend

        return OpenAIBackend(base_url, model, api_key_env=api_key_env, timeout_s=timeout_s)
    from lamstudio.models import resolve_model

    return LocalBackend(str(resolve_model(model)), max_tokens=max_tokens)
