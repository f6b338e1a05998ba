"""Run a model on a suite and collect predictions.

Three engines, one loop: ``transformers`` (a local model, batched greedy decoding, prompts
rendered and outputs parsed by ``lamstudio.render`` exactly as in training), ``llamacpp``
(the model's GGUF in llama.cpp on the CPU, the same rendering and parsing) and ``openai``
(any OpenAI-compatible endpoint through ``lamstudio.llm``; tools are passed natively, with
names the API accepts mapped back to the originals). Multi-turn cases run an agent loop:
the model's calls execute in the case's environment and it sees the results.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from lamstudio.eval._decode import calls_from_json, decode_output
from lamstudio.eval._generate import greedy_generate
from lamstudio.eval._suite import EvalCase

Request = tuple[list[dict[str, Any]], list[dict[str, Any]], str | None]  # msgs, tools, system
Step = dict[str, Any]  # {"output": text} or {"calls": [...]} (+ "error")


def prompt_ids(renderer: Any, req: Request) -> list[int]:
    """The ids of a request's prompt, rendered by the model's template as in training."""
    from lamstudio.schema import Trajectory

    msgs, tools, system = req
    return renderer.prompt_ids(Trajectory(id="eval", system=system, tools=tools,
                                          messages=msgs))


class TransformersGenerator:
    reports_progress = True  # calls on_done(n) after every batch, not once per request list

    def __init__(self, path: str, batch_size: int = 8, max_new_tokens: int = 256,
                 allow_download: bool = False) -> None:
        from lamstudio.models import resolve_model

        path = resolve_model(path, allow_download)  # ModelError at once, before torch loads
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from lamstudio.render import Renderer

        torch.set_num_threads(min(2, torch.get_num_threads()))
        self.tok = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForCausalLM.from_pretrained(path).eval()
        self.renderer = Renderer(self.tok)
        self.batch_size, self.max_new_tokens = batch_size, max_new_tokens

    def _prompt(self, req: Request) -> list[int]:
        return prompt_ids(self.renderer, req)

    def __call__(self, requests: Sequence[Request],
                 on_done: Callable[[int], None] | None = None) -> list[Step]:
        gens = greedy_generate(self.model, self.renderer, [self._prompt(r) for r in requests],
                               max_new_tokens=self.max_new_tokens, batch_size=self.batch_size,
                               on_batch=on_done)
        return [{"output": g.text, "error": g.error} if g.error else {"output": g.text}
                for g in gens]


class LlamaCppGenerator:
    """Greedy answers from the model's GGUF in llama.cpp (``lamstudio.llm.LlamaCppModel``):
    the same prompt ids as ``TransformersGenerator``, one request after another with the
    shared prompt prefix (the system prompt, the tool list) kept in the KV cache."""

    reports_progress = True

    def __init__(self, model: str, max_new_tokens: int = 256, gguf: str | None = None,
                 threads: int | None = None) -> None:
        from lamstudio.llm import LlamaCppModel

        self.engine = LlamaCppModel(model, gguf=gguf, threads=threads)
        self.renderer, self.max_new_tokens = self.engine.renderer, max_new_tokens

    def __call__(self, requests: Sequence[Request],
                 on_done: Callable[[int], None] | None = None) -> list[Step]:
        out = []
        for req in requests:
            out.append(self._one(prompt_ids(self.renderer, req)))
            if on_done:
                on_done(1)
        return out

    def _one(self, ids: list[int]) -> Step:
        from lamstudio.llm import Sampling

        room = self.engine.context - len(ids)
        if room < 8:  # as greedy_generate: this case fails, the run goes on
            return {"output": "", "error": "prompt longer than the model's context"}
        stops, seq = set(self.renderer.stop_token_ids), []
        budget = min(self.max_new_tokens, room)

        def on_token(tok: int) -> bool:
            if tok in stops:
                return True
            seq.append(tok)
            return len(seq) >= budget

        self.engine.generate(ids, Sampling(), on_token)
        return {"output": self.renderer.decode(seq)}


_SAFE = re.compile(r"[^a-zA-Z0-9_-]")


class OpenAIGenerator:
    def __init__(self, base_url: str, model: str, max_new_tokens: int = 512,
                 api_key_env: str | None = "OPENAI_API_KEY") -> None:
        from lamstudio.llm import OpenAIBackend

        self.backend = OpenAIBackend(base_url, model, api_key_env=api_key_env)
        self.max_new_tokens = max_new_tokens

    def __call__(self, requests: Sequence[Request]) -> list[Step]:
        from lamstudio.llm import complete_many

        payloads, name_maps = [], []
        for msgs, tools, system in requests:
            names = {_SAFE.sub("_", t["function"]["name"])[:64]: t["function"]["name"]
                     for t in tools}
            safe_tools = [{**t, "function": {**t["function"], "name": s}}
                          for s, t in zip(names, tools, strict=True)]
            head = [{"role": "system", "content": system}] if system else []
            payloads.append({"messages": head + _wire(msgs, names),
                             "tools": safe_tools or None,
                             "params": {"temperature": 0, "max_tokens": self.max_new_tokens}})
            name_maps.append(names)

        async def go() -> list[Any]:
            try:
                return await complete_many(self.backend, payloads)
            finally:
                await self.backend.aclose()

        out: list[Step] = []
        for res, names in zip(asyncio.run(go()), name_maps, strict=True):
            if isinstance(res, Exception):
                out.append({"output": "", "error": f"{type(res).__name__}: {res}"})
            elif res.tool_calls:
                out.append({"calls": [_original_name(c, names) for c in res.tool_calls]})
            elif res.content is None or isinstance(res.content, str):
                out.append({"output": res.content or ""})
            else:  # a reply, but not text: scored as no answer, with the reason kept
                out.append({"output": "", "error": f"bad_content: the reply's content is a "
                                                   f"{type(res.content).__name__}, not text"})
        return out


def _original_name(call: Any, names: dict[str, str]) -> Any:
    """A wire call with its original tool name; a malformed one is passed on as sent, for
    ``calls_from_json`` to refuse with its reason (never a KeyError that ends the run)."""
    fn = call.get("function") if isinstance(call, dict) else None
    if not isinstance(fn, dict):
        return call
    name = fn.get("name")
    return {"name": names.get(name, name) if isinstance(name, str) else name,
            "arguments": fn.get("arguments", {})}


def _wire(msgs: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    """Messages as the API expects them: arguments as JSON strings, safe tool names."""
    back = {v: k for k, v in names.items()}
    out = []
    for m in msgs:
        m = dict(m)
        if m.get("tool_calls"):
            m["tool_calls"] = [{"id": c["id"], "type": "function", "function": {
                "name": back.get(c["function"]["name"], c["function"]["name"]),
                "arguments": json.dumps(c["function"]["arguments"])}} for c in m["tool_calls"]]
        out.append(m)
    return out


def step_calls(step: Step) -> list[Any]:
    calls, _ = (calls_from_json(step["calls"]) if "calls" in step
                else decode_output(step.get("output", "")))
    return calls or []


def run_cases(cases: Sequence[EvalCase], generate: Callable[[Sequence[Request]], list[Step]],
              max_steps: int = 6, tick: Callable[[], None] | None = None
              ) -> dict[str, dict[str, Any]]:
    """Predictions by case id (the shape ``score`` reads)."""
    preds: dict[str, dict[str, Any]] = {}
    single = [c for c in cases if c.check != "multi_turn"]
    for start in range(0, len(single), 64):
        chunk = single[start:start + 64]
        steps = _generate(generate, [(c.turns[0], c.tools(), c.system) for c in chunk], tick)
        for case, step in zip(chunk, steps, strict=True):
            preds[case.id] = {"id": case.id, **step}
    for case in (c for c in cases if c.check == "multi_turn"):
        preds[case.id] = {"id": case.id, "turns": _episode(case, generate, max_steps)}
        if tick:
            tick()
    return preds


def _generate(generate: Callable[..., list[Step]], requests: list[Request],
              tick: Callable[[], None] | None) -> list[Step]:
    """One call of the generator; the progress bar moves after every batch when the generator
    says how far it got (a slow CPU takes minutes over 64 requests), else after the call."""
    def done(n: int) -> None:
        for _ in range(n):
            tick()  # type: ignore[misc]

    if tick and getattr(generate, "reports_progress", False):
        return generate(requests, on_done=done)
    steps = generate(requests)
    if tick:
        done(len(requests))
    return steps


def _episode(case: EvalCase, generate: Callable[[Sequence[Request]], list[Step]],
             max_steps: int) -> list[list[Any]]:
    env = case.env_factory() if case.env_factory else None
    msgs: list[dict[str, Any]] = []
    turns: list[list[Any]] = []
    for t, user_msgs in enumerate(case.turns):
        msgs += user_msgs
        record: list[Any] = []
        for _ in range(max_steps):
            step = generate([(msgs, case.tools(t), case.system)])[0]
            calls = step_calls(step)
            record.append(step.get("calls") or step.get("output", ""))
            if not calls:
                msgs.append({"role": "assistant", "content": step.get("output", "")})
                break
            ids = [f"call_{t}_{len(msgs)}_{k}" for k in range(len(calls))]
            msgs.append({"role": "assistant", "content": None, "tool_calls": [
                {"id": i, "type": "function", "function": {
                    "name": c.name,
                    "arguments": c.arguments if isinstance(c.arguments, dict) else {}}}
                for i, c in zip(ids, calls, strict=True)]})
            for i, c in zip(ids, calls, strict=True):
                result = env.run(c) if env else "no environment"
                msgs.append({"role": "tool", "tool_call_id": i, "name": c.name,
                             "content": result})
        turns.append(record)
    return turns
