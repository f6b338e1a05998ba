#!/usr/bin/env bash
# Download, here, the wheels bench/device/train_gpu.sh installs on the GPU machine, which
# cannot reach a package index. Its image has torch, tokenizers, pyarrow, rich, typer,
# httpx, PyYAML, jinja2 and tensorboard but not lamstudio's other dependencies; transformers,
# peft and accelerate are carried too so that the versions are the ones tested here.
# The machine's python3 is 3.12 (KINDS.md), hence --python-version 3.12.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=.wheels-device
rm -rf "$dest" && mkdir -p "$dest"
pip=${PIP:-.venv/bin/pip}
"$pip" download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux_2_28_x86_64 -d "$dest" \
  pydantic pydantic-core annotated-types typing-inspection jsonschema \
  jsonschema-specifications referencing rpds-py orjson datasets dill multiprocess \
  "trl==1.16.0" "transformers==5.24.0" "peft==0.21.2" "accelerate==1.15.0"
du -sh "$dest"
