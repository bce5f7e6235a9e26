# The two commands of the README:
#   make run   set up a local virtualenv, ingest knowledge/ and start the API on 127.0.0.1:8000
#   make test  install the dev extras and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= data
KB ?= sample
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev ingest seed serve lint eval bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch is pinned to the CPU build in pyproject.toml; install it first on its own so the
# resolver never reaches for a CUDA wheel.
install: $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .

# llama-cpp-python (dev extra) compiles llama.cpp: a portable build, because -march=native
# emits AMX instructions that fault on VMs which advertise AMX without enabling it.
install-dev: $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install --quiet -e '.[dev]'

ingest: install
	LEARNLOOP_DATA_DIR=$(DATA) $(BIN)/learnloop ingest knowledge --kb $(KB) --base-url https://help.tasklane.example/

# 120 days of demo accounts for the dashboard (idempotent: a second run adds nothing).
seed: ingest
	LEARNLOOP_DATA_DIR=$(DATA) $(BIN)/learnloop demo seed --kb $(KB)

serve:
	LEARNLOOP_DATA_DIR=$(DATA) $(BIN)/learnloop serve --dev --host $(HOST) --port $(PORT)

run: ingest seed serve

test: install-dev
	$(BIN)/ruff check assistant ingest evals tests
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: install-dev
	$(BIN)/ruff check assistant ingest evals tests
	$(BIN)/mypy

eval: install
	bash evals/run_evals.sh

bench: install
	$(BIN)/python evals/bench_ingest.py
	$(BIN)/python evals/bench_search.py

clean:
	rm -rf $(VENV) $(DATA)
