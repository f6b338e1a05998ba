"""The agent's model: an OpenAI-compatible endpoint, or a local model through
``lamstudio.llm`` (``transformers``: ``LocalBackend``; ``llamacpp``: ``LlamaCppBackend``,
the model's GGUF on the CPU), rendered and parsed with ``lamstudio.render`` as in training
and eval."""

from __future__ import annotations

from lamstudio.llm import ChatBackend, OpenAIBackend, engine_name, local_backend


def open_backend(model: str, base_url: str | None = None, *,
                 api_key_env: str | None = "OPENAI_API_KEY", max_tokens: int = 256,
                 timeout_s: float = 120.0, engine: str = "transformers",
                 gguf: str | None = None) -> ChatBackend:
    """An OpenAI-compatible endpoint when ``base_url`` is given, else a local model
    (a folder, a ``.gguf`` or a registry name, through ``lamstudio.models``) run by
    ``engine`` (``transformers`` or ``llamacpp``; ``gguf``: the file llamacpp runs).

    The local model is loaded here, so a broken one fails before any episode starts; it
    decodes greedily with ``max_tokens`` unless a request says otherwise, and names itself
    by its folder (llamacpp: by ``model`` as given) in each episode's ``meta.agent.model``."""
    if base_url:
        return OpenAIBackend(base_url, model, api_key_env=api_key_env, timeout_s=timeout_s)
    params = {"temperature": 0.0, "max_tokens": max_tokens}
    if engine_name(engine) == "llamacpp":
        return local_backend(model, "llamacpp", gguf=gguf, name=model,
                             default_params=params).load()
    from lamstudio.llm import resolve_local_model

    path = resolve_local_model(model)
    return local_backend(path, engine, gguf=gguf, name=path, default_params=params).load()
