#!/usr/bin/env bash
# The GPU training benchmark in one call of the device tool (run from the repo root there):
#   bash bench/device/wheels.sh            # here, once: fills .wheels-device/ (~20 MB)
#   device run, carry [".wheels-device"], timeout_s 540:
#     bash bench/device/train_gpu.sh
# Installs the carried wheels into a private folder (no index is reachable there), then runs
# bench/train.py with the ~0.5B Llama in bf16 and SDPA. Output: $OUT/train_gpu.json and
# $OUT/train_gpu.log; copy the numbers into bench/RESULTS.md with the date and device.
set -euo pipefail
site=/tmp/lamstudio-site
python3 -m pip install --quiet --no-deps --no-index --target "$site" .wheels-device/*.whl
export PYTHONPATH="$site:$PWD/src" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
out=${OUT:-/tmp}
timeout "${BENCH_TIMEOUT:-480}" python3 bench/train.py --model 0.5b --batch 8 \
  --max-len 2048 --records 3000 --steps "${STEPS:-25}" --attn "${ATTN:-sdpa}" \
  --json "$out/train_gpu.json" 2>&1 | tee "$out/train_gpu.log"
