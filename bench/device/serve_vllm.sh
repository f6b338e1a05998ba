#!/usr/bin/env bash
# lamstudio serve --engine vllm end to end, on a GPU machine that has vLLM installed (the
# lent machines' image may not: no index is reachable there, and vLLM's wheel is far larger
# than what a device run carries). Run from the repo root:
#   MODEL=/path/to/hf-model bash bench/device/serve_vllm.sh
# 1. starts `lamstudio serve --engine vllm` (lamstudio's template + tool-parser plugin),
# 2. checks a tool call, a streamed tool call and tool_choice with the openai client,
# 3. runs bench/serve.py's 1/8/32-client levels against it, with the transformers baseline.
# Output: $OUT/serve_vllm.json and $OUT/serve_vllm.log; copy the numbers into bench/RESULTS.md.
set -euo pipefail
export PYTHONPATH="$PWD/src" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
out=${OUT:-/tmp}
python3 -c "import vllm; print('vllm', vllm.__version__)" || {
  echo "vLLM is not installed on this machine: nothing to run"; exit 3; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
model=${MODEL:?set MODEL to a Hugging Face model folder (lamstudio export output)}
port=${PORT:-8011}
python3 -m lamstudio serve --engine vllm --model "$model" --port "$port" --model-id lam \
  > "$out/serve_vllm_server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  kill -0 $server 2>/dev/null || { tail -50 "$out/serve_vllm_server.log"; exit 1; }
  sleep 1
done
python3 - "$port" <<'PY' 2>&1 | tee "$out/serve_vllm.log"
import json, sys
from openai import OpenAI
c = OpenAI(base_url=f"http://127.0.0.1:{sys.argv[1]}/v1", api_key="unused")
tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
msgs = [{"role": "user", "content": "What is the weather in Paris?"}]
for choice in ("auto", "required", {"type": "function", "function": {"name": "get_weather"}}):
    r = c.chat.completions.create(model="lam", messages=msgs, tools=tools, tool_choice=choice,
                                  temperature=0, max_tokens=64)
    m = r.choices[0].message
    print(json.dumps({"tool_choice": choice, "finish": r.choices[0].finish_reason,
                      "content": m.content, "calls": [(t.function.name, t.function.arguments)
                                                      for t in m.tool_calls or []]}))
parts = list(c.chat.completions.create(model="lam", messages=msgs, tools=tools, stream=True,
                                       temperature=0, max_tokens=64))
print("stream chunks:", len(parts))
PY
kill $server; wait $server 2>/dev/null || true
trap - EXIT
timeout "${BENCH_TIMEOUT:-900}" python3 bench/serve.py --model "$model" --engine vllm \
  --max-batch 32 --requests 64 --max-tokens 64 --out "$out/serve_vllm.json" \
  2>&1 | tee -a "$out/serve_vllm.log"
