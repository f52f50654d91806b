# The two commands a newcomer runs on a fresh machine (README.md):
#   make serve   install the serving package and bring the service up on the embedded models
#   make test    install everything the tests need and run every test
# `.ci/run` runs `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Tools installed into the venv (ruff, buf, hadolint, ...) come first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: serve test lint typecheck pytest proto tools node-deps system-tools models clean gpu-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The serving install: no torch.
$(VENV)/.serve-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e . --config-settings editable_mode=strict
	touch $@

# strict editable mode: mypy cannot follow the package-dir mapping through the default
# editable finder. A new module needs `make clean` or a re-install to be seen.
# Everything: training (torch, pinned to the CPU build), export and the test tools.
$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[train,dev]' --config-settings editable_mode=strict
	touch $@ $(VENV)/.serve-installed

serve: $(VENV)/.serve-installed
	$(BIN)/vaeserve serve

# promtool (Debian's prometheus package) checks metrics and alerting rules in the tests;
# Debian's dataset-fashion-mnist is the data the shipped-data loader test reads;
# Debian's chromium is the browser Playwright drives in tests/web (its own download is
# not reachable from CI);
# kubectl renders the kustomize overlays (it ships with this project's machines).
system-tools:
	@command -v kubectl >/dev/null || { echo "make test needs kubectl (https://kubernetes.io/docs/tasks/tools/)" >&2; exit 1; }
	@missing=""; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	[ -d /usr/share/datasets/fashion-mnist ] || missing="$$missing dataset-fashion-mnist"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "make test needs:$$missing (sudo apt-get install$$missing)" >&2; exit 1; fi; \
	fi

node-deps:
	@if [ -f clients/node/package-lock.json ]; then (cd clients/node && npm ci --no-audit --no-fund --silent); fi

tools: system-tools node-deps

lint: $(VENV)/.dev-installed
	ruff check .
	ruff format --check .
	buf lint

typecheck: $(VENV)/.dev-installed
	$(BIN)/python -m mypy src training export server bench clients/python tests

pytest: $(VENV)/.dev-installed tools
	$(BIN)/python -m pytest

test: lint typecheck pytest

# On a machine with an NVIDIA GPU: its own venv (.venv-gpu) with onnxruntime-gpu, the tests
# marked gpu, the GPU benchmark, reports/gpu.md (scripts/gpu-check.sh). Without one it says
# so and exits 0, installing nothing: it needs no other target.
gpu-check:
	bash scripts/gpu-check.sh

# Regenerate the Python code for proto/ (a test fails when the committed code is stale).
proto: $(VENV)/.dev-installed
	$(BIN)/python -m grpc_tools.protoc -I proto --python_out=src --pyi_out=src \
	  --grpc_python_out=src proto/vaeserve/v1/vae_service.proto \
	  proto/vaeserve/admin/v1/admin_service.proto

# Train and export the embedded default models (about an hour on 2 CPU cores).
models: $(VENV)/.dev-installed
	$(BIN)/python -m vaeserve.export.embedded_models --repository models

clean:
	rm -rf $(VENV) .venv-gpu build *.egg-info .pytest_cache .mypy_cache .ruff_cache
