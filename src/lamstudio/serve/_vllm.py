"""``lamstudio serve --engine vllm``: vLLM's own OpenAI server, told how lamstudio models talk.

vLLM gets the chat template the model trained with (written to a file) and lamstudio's
tool-call parser as a plugin (``--tool-parser-plugin``, registered as ``lamstudio``), not
its built-in ``xlam`` parser: lamstudio's marker ``[TOOL_CALLS]`` is a special token, which
vLLM strips from the text before a parser sees it unless the parser turns
``skip_special_tokens`` off (``xlam`` does not), and ``xlam`` reads neither Hermes-style
templates nor content after calls the way lamstudio's parser does. The plugin's parsing is
``vllm_extract`` and ``StreamParser`` below: pure functions, tested here without vLLM.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from lamstudio.serve._config import ServeConfig
from lamstudio.serve._stream import settle

PLUGIN_FILE = Path(__file__).with_name("_vllm_plugin.py")
PARSER_NAME = "lamstudio"


class VllmUnavailable(RuntimeError):
    pass


def vllm_extract(text: str) -> dict[str, Any]:
    """What the plugin's ``extract_tool_calls`` returns, as plain data:
    ``{"tools_called", "tool_calls": [{"name", "arguments" (JSON string)}], "content"}``."""
    final = settle(text)
    return {"tools_called": bool(final.calls),
            "tool_calls": [{"name": c.name,
                            "arguments": json.dumps(c.arguments, ensure_ascii=False)}
                           for c in final.calls],
            "content": final.content or None}


def vllm_command(config: ServeConfig, model_path: str, template_file: str) -> list[str]:
    """The command line that starts vLLM's OpenAI server for ``config``."""
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server",
           "--model", model_path, "--served-model-name",
           f"{config.served_id}-base" if config.adapter else config.served_id,
           "--host", config.host, "--port", str(config.port),
           "--chat-template", template_file,
           "--enable-auto-tool-choice", "--tool-parser-plugin", str(PLUGIN_FILE),
           "--tool-call-parser", PARSER_NAME, "--max-num-seqs", str(config.max_batch)]
    if config.context_length:
        cmd += ["--max-model-len", str(config.context_length)]
    if config.adapter:
        # Requests for the served id get the adapter. An adapter that added tokens needs
        # merging first (lamstudio train export): vLLM's LoRA cannot grow the vocabulary.
        cmd += ["--enable-lora", "--lora-modules", f"{config.served_id}={config.adapter}"]
    return cmd


def run_vllm(config: ServeConfig) -> int:
    """Start vLLM in the foreground; its exit status is returned."""
    if importlib.util.find_spec("vllm") is None:
        raise VllmUnavailable("vLLM is not installed (pip install vllm on a GPU machine); "
                              "use --engine transformers here")
    from transformers import AutoTokenizer

    from lamstudio.render import Renderer
    from lamstudio.serve._engine import resolve_model

    path = resolve_model(config.model)
    renderer = Renderer(AutoTokenizer.from_pretrained(path))
    folder = Path(tempfile.mkdtemp(prefix="lamstudio-vllm-"))
    template = folder / "chat_template.jinja"
    template.write_text(renderer.template, encoding="utf-8")
    env = dict(os.environ)
    if config.api_key_env:  # vLLM reads VLLM_API_KEY: the key stays off the command line
        env["VLLM_API_KEY"] = os.environ.get(config.api_key_env, "")
    return subprocess.call(vllm_command(config, path, str(template)), env=env)
