"""Serve a model behind an OpenAI-compatible API (``/v1/chat/completions`` with tools).

Prompts are rendered with the model's ``lamstudio.render.Renderer`` and outputs read with
``lamstudio.render.parse_output``: the template and parser used in training and eval.
``create_app(engine, config)`` is the API; engines: ``TransformersEngine`` (batched
``generate``), ``LlamaCppEngine`` (a GGUF on the CPU), ``ScriptedEngine`` (given replies,
for testing clients); ``run_vllm`` starts vLLM's server with lamstudio's template and tool
parser instead.
"""

from lamstudio.serve._app import create_app
from lamstudio.serve._batcher import Batcher, BatchStats, QueueFull
from lamstudio.serve._config import ENGINES, ServeConfig
from lamstudio.serve._engine import (
    Engine,
    GenRequest,
    GenResult,
    LlamaCppEngine,
    ScriptedEngine,
    TransformersEngine,
    resolve_model,
)
from lamstudio.serve._errors import ApiError
from lamstudio.serve._guard import Guard, LocalRule, read_api_key
from lamstudio.serve._prompt import CallPrefixes, Prompter, call_prefixes
from lamstudio.serve._request import ChatRequest, parse_request
from lamstudio.serve._server import ServerThread, load_engine, serve
from lamstudio.serve._stops import StopMatcher
from lamstudio.serve._stream import Delta, Settled, StreamParser, settle
from lamstudio.serve._vllm import (
    PLUGIN_FILE,
    VllmUnavailable,
    run_vllm,
    vllm_command,
    vllm_extract,
)

__all__ = [
    "ENGINES", "PLUGIN_FILE", "ApiError", "BatchStats", "Batcher", "CallPrefixes",
    "ChatRequest", "Delta", "Engine", "GenRequest", "GenResult", "Guard", "LlamaCppEngine",
    "LocalRule", "Prompter", "QueueFull", "ScriptedEngine", "ServeConfig", "ServerThread",
    "Settled", "StopMatcher", "StreamParser", "TransformersEngine", "VllmUnavailable",
    "call_prefixes", "create_app", "load_engine", "parse_request", "read_api_key",
    "resolve_model", "run_vllm", "serve", "settle", "vllm_command", "vllm_extract",
]
