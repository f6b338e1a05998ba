"""``lamstudio serve`` as a real subprocess: flags reach the server; failures are one line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from serve_helpers import WEATHER, client

SRC = str(Path(__file__).parents[2] / "src")


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=SRC, HF_HUB_OFFLINE="1", **extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_scripted_with_auth_answers_the_openai_client(tiny_model, tmp_path):
    script = tmp_path / "replies.json"
    script.write_text(json.dumps(['[TOOL_CALLS][{"name":"get_weather","arguments":'
                                  '{"city":"Paris"}}]']))
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lamstudio", "serve", "--model", str(tiny_model),
         "--engine", "scripted", "--script", str(script), "--port", str(port),
         "--api-key-env", "LAMSTUDIO_KEY", "--model-id", "cli-model"],
        env=_env(LAMSTUDIO_KEY="k-123"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                httpx.get(base + "/health", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.1)

        class Srv:
            base_url = base + "/v1"

        r = client(Srv, key="k-123").chat.completions.create(
            model="cli-model", messages=[{"role": "user", "content": "Paris?"}], tools=[WEATHER])
        assert r.choices[0].message.tool_calls[0].function.name == "get_weather"
        assert httpx.get(base + "/v1/models").status_code == 401
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "k-123" not in out  # the key is never logged


@pytest.mark.parametrize("args, message", [
    (["--engine", "vllm"], "vLLM is not installed"),
    (["--engine", "nope"], "engine must be one of"),
    (["--api-key-env", "LAMSTUDIO_UNSET_KEY"], "LAMSTUDIO_UNSET_KEY"),
    # A key no client can send in a header: refused before the model loads (it used to
    # start, then answer every request with a 500).
    (["--api-key-env", "LAMSTUDIO_BAD_KEY"], "printable ASCII"),
])
def test_failures_are_one_clear_line(args, message):
    r = subprocess.run([sys.executable, "-m", "lamstudio", "serve", "--model", "m", *args],
                       env=_env(LAMSTUDIO_BAD_KEY="clé"), capture_output=True, text=True,
                       timeout=120)
    if "vllm" in args and "vLLM is not installed" not in r.stderr:
        pytest.skip("vLLM is installed here")
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len([line for line in r.stderr.splitlines() if line.strip()]) <= 2


def test_limits_and_local_rules_reach_the_server(tiny_model, tmp_path):
    script = tmp_path / "replies.json"
    script.write_text(json.dumps(["fine"]))
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lamstudio", "serve", "--model", str(tiny_model),
         "--engine", "scripted", "--script", str(script), "--port", str(port),
         "--max-body-mb", "0.5", "--allowed-host", "models.example",
         "--allowed-origin", "https://app.example"],
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                httpx.get(base + "/health", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.1)

        def chat(content: str, **headers: str) -> httpx.Response:
            body = {"messages": [{"role": "user", "content": content}]}
            return httpx.post(base + "/v1/chat/completions", json=body, headers=headers,
                              timeout=60)

        assert chat("x" * 600_000).status_code == 413
        assert chat("hi", Host="models.example").status_code == 200
        assert chat("hi", Host="evil.example").status_code == 403
        assert chat("hi", Origin="https://app.example").status_code == 200
        assert chat("hi", Origin="https://evil.example").status_code == 403
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
